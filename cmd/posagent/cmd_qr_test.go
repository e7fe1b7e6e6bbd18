package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const qrParseDir = "../../testdata/qr/parse"

// TestQRParseGolden runs "posagent qr parse --json" on every payload in
// testdata/qr/parse, plain and --strict, against its golden output and
// exit code (the last line of the golden file).
func TestQRParseGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(qrParseDir, "*.txt"))
	if len(files) < 10 {
		t.Fatalf("only %d payloads in %s", len(files), qrParseDir)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		payload := strings.TrimRight(string(raw), "\n")
		for _, mode := range []string{"", "strict"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				args := []string{"--json", payload}
				golden := name + ".golden"
				if mode == "strict" {
					args = append([]string{"--strict"}, args...)
					golden = name + ".strict.golden"
				}
				var out, errb bytes.Buffer
				code := qrParse(args, nil, &out, &errb)
				if errb.Len() != 0 {
					t.Fatalf("stderr: %s", errb.String())
				}
				var r struct {
					Valid bool `json:"valid"`
				}
				if err := json.Unmarshal(out.Bytes(), &r); err != nil {
					t.Fatalf("output is not one JSON object: %v\n%s", err, out.String())
				}
				if (code == 0) != r.Valid {
					t.Fatalf("exit %d with valid=%v", code, r.Valid)
				}
				traceGolden(t, filepath.Join(qrParseDir, golden), out.String())
			})
		}
	}
}

func TestQRParseStdin(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(qrParseDir, "emvco-spec.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var a, b, e bytes.Buffer
	if c := qrParse([]string{"--json", "-"}, bytes.NewReader(raw), &a, &e); c != 0 {
		t.Fatalf("stdin: exit %d %s", c, e.String())
	}
	qrParse([]string{"--json", strings.TrimSpace(string(raw))}, nil, &b, &e)
	if a.String() != b.String() {
		t.Fatalf("stdin and argument differ:\n%s\n%s", a.String(), b.String())
	}
	if c := qrParse([]string{"--json"}, nil, &a, &e); c != 2 {
		t.Fatalf("no payload: exit %d", c)
	}
}

func TestQRParseMasksCardData(t *testing.T) {
	raw, _ := os.ReadFile(filepath.Join(qrParseDir, "cpm.txt"))
	var out, e bytes.Buffer
	if c := qrParse([]string{"--json", strings.TrimSpace(string(raw))}, nil, &out, &e); c != 0 {
		t.Fatalf("exit %d: %s %s", c, out.String(), e.String())
	}
	for _, secret := range []string{"4761739001010119", "2212201175892888", "SMITH", "1122334455667788"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("output leaks %s: %s", secret, out.String())
		}
	}
}
