package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"posagent/qr"
	"posagent/qr/render"
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

// zbarDecode reads a QR code from an image file with zbarimg (Debian
// zbar-tools, installed by scripts/deps.sh): an independent decoder.
func zbarDecode(t *testing.T, file string) string {
	t.Helper()
	if _, err := exec.LookPath("zbarimg"); err != nil {
		t.Fatal("zbarimg not found: run scripts/deps.sh")
	}
	out, err := exec.Command("zbarimg", "--nodbus", "-q", "--raw", "-Sdisable", "-Sqrcode.enable", file).Output()
	if err != nil {
		t.Fatalf("zbarimg %s: %v", file, err)
	}
	return strings.TrimRight(string(out), "\n")
}

func TestQRShow(t *testing.T) {
	dir := t.TempDir()
	pngFile, svgFile := filepath.Join(dir, "c.png"), filepath.Join(dir, "c.svg")
	var out, e bytes.Buffer
	code := qrShow([]string{"--amount", "12.34", "--currency", "EUR", "--reference", "ORDER-7", "--png", pngFile, "--svg", svgFile, "--merchant-name", "CAFE MÜLLER"}, &out, &e)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e.String())
	}
	lines := strings.SplitN(out.String(), "\n", 2)
	payload := lines[0]
	r := qr.Inspect(payload, qr.InspectOptions{Strict: true})
	if !r.Valid {
		t.Fatalf("payload not strictly valid: %v", r.Errors)
	}
	m, _ := qr.DecodeMPM(payload)
	if a, cur, _, _ := m.Amount(); a != 1234 || cur != "EUR" || m.Reference() != "ORDER-7" {
		t.Fatalf("amount %d %s reference %s", a, cur, m.Reference())
	}
	if !strings.Contains(lines[1], "▄") {
		t.Fatal("no terminal drawing")
	}
	if got := zbarDecode(t, pngFile); got != payload {
		t.Fatalf("zbarimg reads %q, want %q", got, payload)
	}
	svg, err := os.ReadFile(svgFile)
	if err != nil || !bytes.HasPrefix(svg, []byte("<svg")) {
		t.Fatalf("svg: %v %.40q", err, svg)
	}
	for _, bad := range [][]string{{}, {"--amount", "0"}, {"--amount", "1.234"}, {"--amount", "1", "--account", "nocolon"}} {
		if c := qrShow(bad, &out, &e); c == 0 {
			t.Errorf("qr show %v: exit 0", bad)
		}
	}
}

func writeCodePNG(t *testing.T, path, text string) {
	t.Helper()
	c, err := render.New(text)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.PNG(256)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestQRDecode(t *testing.T) {
	dir := t.TempDir()
	mpm := strings.TrimSpace(string(mustRead(t, filepath.Join(qrParseDir, "pix-static.txt"))))
	cpm := strings.TrimSpace(string(mustRead(t, filepath.Join(qrParseDir, "cpm.txt"))))
	writeCodePNG(t, filepath.Join(dir, "mpm.png"), mpm)
	writeCodePNG(t, filepath.Join(dir, "cpm.png"), cpm)
	writeCodePNG(t, filepath.Join(dir, "wechat.png"), "134567890123456789")
	os.WriteFile(filepath.Join(dir, "blank.png"), mustRead(t, filepath.Join(dir, "mpm.png"))[:40], 0o644)
	var out, e bytes.Buffer
	code := qrDecode([]string{"--json", filepath.Join(dir, "mpm.png"), filepath.Join(dir, "cpm.png"), filepath.Join(dir, "wechat.png"), filepath.Join(dir, "blank.png"), filepath.Join(dir, "missing.png")}, &out, &e)
	if code != 1 {
		t.Fatalf("exit %d (two files fail)", code)
	}
	var lines []decodeLine
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var d decodeLine
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		lines = append(lines, d)
	}
	if len(lines) != 5 {
		t.Fatalf("%d lines", len(lines))
	}
	if !lines[0].OK || lines[0].Text != mpm || lines[0].Format != "emvco-mpm" || lines[0].MS <= 0 {
		t.Errorf("mpm: %+v", lines[0])
	}
	if !lines[1].OK || lines[1].Format != "emvco-cpm" || strings.Contains(lines[1].Text, cpm) {
		t.Errorf("cpm not masked: %+v", lines[1])
	}
	if !lines[2].OK || lines[2].Text != "134567********6789" {
		t.Errorf("wechat: %+v", lines[2])
	}
	for _, l := range lines[3:] {
		if l.OK || l.Error == "" {
			t.Errorf("bad file decoded: %+v", l)
		}
	}
	out.Reset()
	if qrDecode([]string{"--unmasked", "--json", filepath.Join(dir, "cpm.png")}, &out, &e) != 0 || !strings.Contains(out.String(), cpm) {
		t.Errorf("--unmasked: %s", out.String())
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestQRScanDirSerialStdin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t.Run("dir", func(t *testing.T) {
		dir := t.TempDir()
		writeCodePNG(t, filepath.Join(dir, "1.png"), "first")
		go func() {
			time.Sleep(300 * time.Millisecond)
			writeCodePNG(t, filepath.Join(dir, "2.png"), "first") // same code: not reported again
			writeCodePNG(t, filepath.Join(dir, "3.png"), "second")
		}()
		var out, e bytes.Buffer
		if c := qrScan(ctx, []string{"--dir", dir, "--count", "2"}, nil, &out, &e); c != 0 {
			t.Fatalf("exit %d: %s", c, e.String())
		}
		if out.String() != "unknown first\nunknown second\n" {
			t.Fatalf("output %q", out.String())
		}
	})
	t.Run("serial", func(t *testing.T) {
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer ptmx.Close()
		defer tty.Close()
		go func() {
			time.Sleep(200 * time.Millisecond)
			ptmx.Write([]byte("6212345678901234567\r\n"))
		}()
		var out, e bytes.Buffer
		if c := qrScan(ctx, []string{"--serial", tty.Name(), "--eol", "crlf", "--json", "--count", "1"}, nil, &out, &e); c != 0 {
			t.Fatalf("exit %d: %s", c, e.String())
		}
		var l scanLine
		if err := json.Unmarshal(out.Bytes(), &l); err != nil || l.Format != "unionpay" || l.Text != "621234*********4567" || l.Source != tty.Name() {
			t.Fatalf("%v %s", err, out.String())
		}
	})
	t.Run("stdin", func(t *testing.T) {
		dir := t.TempDir()
		writeCodePNG(t, filepath.Join(dir, "x.png"), "from stdin")
		var out, e bytes.Buffer
		if c := qrScan(ctx, []string{"--stdin"}, bytes.NewReader(mustRead(t, filepath.Join(dir, "x.png"))), &out, &e); c != 0 {
			t.Fatalf("exit %d: %s", c, e.String())
		}
		if out.String() != "unknown from stdin\n" {
			t.Fatalf("output %q", out.String())
		}
	})
	var out, e bytes.Buffer
	if c := qrScan(ctx, []string{"--dir", "x", "--stdin"}, nil, &out, &e); c != 2 {
		t.Fatalf("two sources: exit %d", c)
	}
	if c := qrScan(ctx, []string{"--camera", "/dev/video-none"}, nil, &out, &e); c != 1 || !strings.Contains(e.String(), "camera") {
		t.Fatalf("missing camera: exit %d %s", c, e.String())
	}
}

func TestQRShowConfig(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "posagent.toml")
	os.WriteFile(cfgFile, []byte("[terminal]\nterminal_id = \"TILL0042\"\nmerchant_id = \"SHOP00000000042\"\nmerchant_name = \"CORNER SHOP\"\nmcc = 5411\ncurrency = \"CHF\"\n"), 0o644)
	var out, e bytes.Buffer
	if c := qrShow([]string{"--config", cfgFile, "--amount", "5.50", "--quiet", "--reference", "R9"}, &out, &e); c != 0 {
		t.Fatalf("exit %d: %s", c, e.String())
	}
	m, err := qr.DecodeMPM(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	a, cur, _, _ := m.Amount()
	name, _ := m.Get("59")
	mcc, _ := m.Get("52")
	mid, _ := m.Get("26", "01")
	term, _ := m.Get("62", "07")
	if a != 550 || cur != "CHF" || name != "CORNER SHOP" || mcc != "5411" || mid != "SHOP00000000042" || term != "TILL0042" {
		t.Fatalf("code: %d %s %q %s %s %s", a, cur, name, mcc, mid, term)
	}
}
