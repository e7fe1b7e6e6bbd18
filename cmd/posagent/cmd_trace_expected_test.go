package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// expectedTrace is one entry of testdata/traces/expected.json (see its
// README): facts derived from the recorded bytes independently of posagent.
type expectedTrace struct {
	AID       *string `json:"aid"`
	Label     *string `json:"label"`
	PANLast4  *string `json:"pan_last4"`
	PANLength *int    `json:"pan_length"`
	Expiry    *string `json:"expiry"`
	Scheme    string  `json:"scheme"`
	Commands  int     `json:"commands"`
	ODA       *string `json:"oda"`
}

// replayedTrace is the part of "trace replay --json" compared here.
type replayedTrace struct {
	Outcome  string  `json:"outcome"`
	AID      *string `json:"aid"`
	Label    *string `json:"label"`
	Scheme   string  `json:"scheme"`
	PAN      *string `json:"pan"`
	Expiry   *string `json:"expiry"`
	Commands int     `json:"commands"`
	ODA      *struct {
		Method string `json:"method"`
		Result string `json:"result"`
	} `json:"oda"`
	Divergence json.RawMessage `json:"divergence"`
	Sent       int             `json:"sent"`
	Unused     *int            `json:"unused"`
}

// TestTraceReplayExpected replays every shared session through the kernel
// ("posagent trace replay --json", in-process) and checks the values the
// kernel found against expected.json, one subtest per trace and one error
// per field, so a kernel change shows exactly which fact it broke.
func TestTraceReplayExpected(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(tracesDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string]expectedTrace
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(expected))
	for n := range expected {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) != len(traceFiles(t)) {
		t.Fatalf("expected.json has %d entries for %d traces", len(names), len(traceFiles(t)))
	}
	for _, name := range names {
		want := expected[name]
		t.Run(name, func(t *testing.T) {
			code, out, errs := runTraceCmd(t, "replay", "--json", filepath.Join(tracesDir, name+".trace"))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var got replayedTrace
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output is not one JSON object: %v\n%s", err, out)
			}
			if got.Outcome == "" || got.Unused == nil || got.Divergence == nil {
				t.Errorf("outcome, unused or divergence missing from the report")
			}
			field := func(f, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s: %s = %s, expected.json says %s", name, f, got, want)
				}
			}
			field("aid", traceNullStr(got.AID), traceNullStr(want.AID))
			field("label", traceNullStr(got.Label), traceNullStr(want.Label))
			field("scheme", got.Scheme, want.Scheme)
			field("expiry", traceNullStr(got.Expiry), traceNullStr(want.Expiry))
			field("commands", traceItoa(got.Commands), traceItoa(want.Commands))
			last4, length := tracePANFacts(got.PAN)
			field("pan last 4", last4, traceNullStr(want.PANLast4))
			wantLen := "null"
			if want.PANLength != nil {
				wantLen = traceItoa(*want.PANLength)
			}
			field("pan length", length, wantLen)
			if got.PAN != nil && strings.Count(*got.PAN, "*") != len(*got.PAN)-10 {
				t.Errorf("%s: pan %q is not masked to first 6 + last 4", name, *got.PAN)
			}
			gotODA := "null"
			if got.ODA != nil {
				gotODA = got.ODA.Method
			}
			field("oda.method", gotODA, traceNullStr(want.ODA))
		})
	}
}

func traceNullStr(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

func traceItoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// panFacts returns the last 4 digits and the length of a masked PAN.
func tracePANFacts(p *string) (last4, length string) {
	if p == nil || len(*p) < 4 {
		return "null", "null"
	}
	return (*p)[len(*p)-4:], traceItoa(len(*p))
}
