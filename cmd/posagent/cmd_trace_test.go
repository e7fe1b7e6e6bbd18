package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/traces/*.golden")

const tracesDir = "../../testdata/traces"

func traceFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(tracesDir, "*.trace"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no traces in %s: %v", tracesDir, err)
	}
	return files
}

// runTraceCmd runs "posagent trace ARGS" in-process.
func runTraceCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runTrace(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// golden compares got with the golden file, or writes it under -update.
func traceGolden(t *testing.T, path, got string) {
	t.Helper()
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./cmd/posagent -run Golden -update)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (if intended: go test ./cmd/posagent -run Golden -update)\n%s",
			filepath.Base(path), traceLineDiff(got, string(want)))
	}
}

func traceLineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}

func TestTraceGoldenShow(t *testing.T) {
	for _, f := range traceFiles(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".trace")
		t.Run(name, func(t *testing.T) {
			code, out, errs := runTraceCmd(t, "show", f)
			if code != 0 || errs != "" {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			traceGolden(t, filepath.Join(tracesDir, name+".show.golden"), out)
		})
	}
}

func TestTraceGoldenReplay(t *testing.T) {
	for _, f := range traceFiles(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".trace")
		t.Run(name, func(t *testing.T) {
			// A fixed date keeps the goldens stable for traces whose commands carry none.
			code, out, errs := runTraceCmd(t, "replay", "--json", "--date", "2026-12-01", f)
			if code != 0 || errs != "" {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			traceGolden(t, filepath.Join(tracesDir, name+".replay.golden"), out)
		})
	}
}

// Show masks by default: no full PAN, as digits or as BCD hex, anywhere in
// the output; --unmasked shows it.
func TestTraceShowMasks(t *testing.T) {
	for _, tc := range []struct {
		file, pan string
	}{
		{"FailPpseVisaAid.trace", "5772829193253472"},
		{"VisaCardPse.trace", "4979670123453600"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f := filepath.Join(tracesDir, tc.file)
			spaced := traceSpacedHex(traceHex(t, tc.pan))
			code, out, _ := runTraceCmd(t, "show", f)
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			if strings.Contains(out, tc.pan) || strings.Contains(out, spaced) || strings.Contains(strings.ReplaceAll(out, " ", ""), tc.pan) {
				t.Fatalf("masked show contains the full PAN %s…", tc.pan[:6])
			}
			if !strings.Contains(out, tc.pan[:6]+"******"+tc.pan[12:]) {
				t.Fatalf("masked show lacks the masked PAN %s******%s", tc.pan[:6], tc.pan[12:])
			}
			code, out, _ = runTraceCmd(t, "show", "--unmasked", f)
			if code != 0 || !strings.Contains(out, spaced) {
				t.Fatalf("--unmasked: exit %d, full PAN shown: %v", code, strings.Contains(out, spaced))
			}
		})
	}
}

func traceHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTraceShowDecodes(t *testing.T) {
	code, out, _ := runTraceCmd(t, "show", filepath.Join(tracesDir, "wrapperTestSW_61.trace"))
	for _, want := range []string{
		"@ scheme: visa",
		"[1] line 12: SELECT A000000003",
		"SW 6133 (more data available)",
		"[2] line 15: GET RESPONSE (INS 0C)",
		"84 Dedicated File (DF) Name: A0000000031010",
		`50 Application Label: 56495341204445424954 "VISA DEBIT"`,
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("show output lacks %q (exit %d)\n%s", want, code, out)
		}
	}
}

func TestTraceUsageAndErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.trace")
	if err := os.WriteFile(bad, []byte("@ scheme: visa\n> 00 A4 04 00\n> 00 B2 01 0C 00\n< 90 00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		errWant string
	}{
		{"no sub-command", nil, 2, "usage:"},
		{"unknown sub-command", []string{"play"}, 2, `unknown sub-command "play"`},
		{"record is tap's", []string{"record"}, 2, "tap --record"},
		{"show without file", []string{"show"}, 2, "want one FILE"},
		{"replay two files", []string{"replay", "a", "b"}, 2, "want one FILE"},
		{"bad flag", []string{"replay", "--nope", "a"}, 2, "flag provided but not defined"},
		{"missing file", []string{"replay", "--json", filepath.Join(dir, "none.trace")}, 1, "no such file"},
		{"syntax error names the line", []string{"replay", "--json", bad}, 1, "bad.trace: trace: line 3: command after a command"},
		{"show syntax error", []string{"show", bad}, 1, "line 3"},
		{"bad date", []string{"replay", "--date", "tomorrow", filepath.Join(tracesDir, "wrapperTestSW_6C.trace")}, 2, "--date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runTraceCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.errWant) {
				t.Fatalf("exit %d stderr %q; want %d and %q", code, errs, tc.code, tc.errWant)
			}
			if tc.code != 0 && out != "" {
				t.Fatalf("stdout not empty on failure: %q", out)
			}
		})
	}
}

// Flags may follow the file; the text report names the divergence.
func TestTraceReplayText(t *testing.T) {
	code, out, errs := runTraceCmd(t, "replay", filepath.Join(tracesDir, "wrapperTestSW_61.trace"), "--amount", "250")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
	for _, want := range []string{"aid:      A0000000031010", "label:    VISA DEBIT", "commands: 2 recorded",
		"INS 0C recorded instead of C0", "partial name"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}

// The same file replays to the same bytes: nothing random or dated leaks in.
func TestTraceReplayDeterministic(t *testing.T) {
	f := filepath.Join(tracesDir, "VisaCardPpse3.trace")
	_, a, _ := runTraceCmd(t, "replay", "--json", f)
	_, b, _ := runTraceCmd(t, "replay", "--json", f)
	if a != b || a == "" {
		t.Fatalf("two replays differ:\n%s\n%s", a, b)
	}
}

// An extended-length GPO (Lc 00 00 04) is shown with its data, as a short one
// is: the CLI parses commands with reader.ParseCommand like the replayer.
func TestTraceShowExtendedGPO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ext.trace")
	body := "> 80 A8 00 00 00 00 04 83 02 9F 02 00 00\n< 80 06 00 80 08 01 01 00 90 00\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runTraceCmd(t, "show", path)
	if code != 0 || !strings.Contains(out, "9F02") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr: %s", code, out, errOut)
	}
}

// Replay says which date it used and where the date came from.
func TestTraceReplayDateSource(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ex := "> 00 A4 04 00 0E 32 50 41 59 2E 53 59 53 2E 44 44 46 30 31 00\n< 6A 82\n"
	withMeta := write("meta.trace", "@ date: 2025-03-04\n"+ex)
	without := write("none.trace", ex)
	today := time.Now().Format("2006-01-02")
	for _, c := range []struct {
		args         []string
		date, source string
	}{
		{[]string{withMeta}, "2025-03-04", "trace metadata"},
		{[]string{"--date", "2024-02-29", withMeta}, "2024-02-29", "--date"},
		{[]string{without}, today, "today"},
	} {
		code, out, errs := runTraceCmd(t, append([]string{"replay", "--json"}, c.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errs)
		}
		var rep struct {
			Date       string `json:"date"`
			DateSource string `json:"date_source"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Date != c.date || rep.DateSource != c.source {
			t.Errorf("%v: date %q from %q (%v), want %q from %q", c.args, rep.Date, rep.DateSource, err, c.date, c.source)
		}
	}
}
