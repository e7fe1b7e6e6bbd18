package trace

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// traceOf builds a trace from "command|response" pairs ("*" = wildcard).
func traceOf(t testing.TB, pairs ...string) *Trace {
	t.Helper()
	tr := &Trace{}
	for _, p := range pairs {
		c, r, _ := strings.Cut(p, "|")
		ex := Exchange{Response: mustHex(t, r)}
		if c != "*" {
			ex.Command = mustHex(t, c)
		}
		tr.Exchanges = append(tr.Exchanges, ex)
	}
	return tr
}

const (
	selPPSE  = "00A404000E325041592E5359532E444446303100"
	selVisa  = "00A4040007A000000003101000"
	selShort = "00A4040005A00000000300"
	gpoEmpty = "80A8000002830000"
	gd9F7F   = "80CA9F7F00"
	rr1      = "00B2010C00"
)

func TestReplayerMatching(t *testing.T) {
	type step struct {
		cmd, resp string
	}
	for _, tc := range []struct {
		name   string
		trace  []string
		steps  []step
		div    []Divergence // nil = followed exactly
		unused int
	}{
		{
			name:  "exact",
			trace: []string{selPPSE + "|6F009000", selVisa + "|6F019000", gpoEmpty + "|77009000"},
			steps: []step{{selPPSE, "6F009000"}, {selVisa, "6F019000"}, {gpoEmpty, "77009000"}},
		},
		{
			name:  "wildcard matches anything",
			trace: []string{selVisa + "|6F019000", "*|6700", gpoEmpty + "|77009000"},
			steps: []step{{selVisa, "6F019000"}, {"80A80000058303F62000" + "00", "6700"}, {gpoEmpty, "77009000"}},
		},
		{
			name:  "skip recorded exchanges never asked",
			trace: []string{gd9F7F + "|9F7F009000", selPPSE + "|6F009000"},
			steps: []step{{selPPSE, "6F009000"}},
			div:   []Divergence{{0, "80CA9F7F", "skipped recorded GET DATA 9F7F (Card Production Life Cycle (CPLC)) never asked by the kernel"}},
		},
		{
			name:  "partial SELECT: recorded name shorter",
			trace: []string{selShort + "|6F029000"},
			steps: []step{{selVisa, "6F029000"}},
			div:   []Divergence{{0, "00A40400", "SELECT A0000000031010 answered by recorded SELECT A000000003 (partial name)"}},
		},
		{
			name:  "partial SELECT: recorded name longer",
			trace: []string{selVisa + "|6F029000"},
			steps: []step{{selShort, "6F029000"}},
			div:   []Divergence{{0, "00A40400", "SELECT A000000003 answered by recorded SELECT A0000000031010 (partial name)"}},
		},
		{
			name:   "SELECT of a different name is no match",
			trace:  []string{"00A4040007A000000004101000|6F039000"},
			steps:  []step{{selVisa, "6A82"}},
			div:    []Divergence{{-1, "00A40400", "no recorded exchange for SELECT A0000000031010; answered 6A82"}},
			unused: 1,
		},
		{
			name:  "GET RESPONSE recorded with INS 0C",
			trace: []string{selShort + "|6133", "000C000033|6F009000"},
			steps: []step{{selShort, "6133"}, {"00C0000033", "6F009000"}},
			div:   []Divergence{{1, "00C00000", "GET RESPONSE answered by recorded GET RESPONSE (INS 0C) (INS 0C recorded instead of C0)"}},
		},
		{
			name:   "INS 0C is not taken for other commands",
			trace:  []string{"000C000033|6F009000"},
			steps:  []step{{"00B0000033", "6D00"}},
			div:    []Divergence{{-1, "00B00000", "no recorded exchange for READ BINARY P1P2 0000; answered 6D00"}},
			unused: 1,
		},
		{
			name:  "equal except Le",
			trace: []string{"00A4040005A00000000301|6F9000"},
			steps: []step{{selShort, "6F9000"}},
			div:   []Divergence{{0, "00A40400", "SELECT A000000003 answered by recorded SELECT A000000003 (Le 01 recorded, 00 sent)"}},
		},
		{
			name:  "Le absent in the recording",
			trace: []string{"80CA9F36|9F360200019000"},
			steps: []step{{"80CA9F3600", "9F360200019000"}},
			div:   []Divergence{{0, "80CA9F36", "GET DATA 9F36 (Application Transaction Counter (ATC)) answered by recorded GET DATA 9F36 (Application Transaction Counter (ATC)) (Le absent recorded, 00 sent)"}},
		},
		{
			name:  "unrecorded SELECT answers 6A82, cursor kept",
			trace: []string{selVisa + "|6F019000"},
			steps: []step{{selPPSE, "6A82"}, {selVisa, "6F019000"}},
			div:   []Divergence{{-1, "00A40400", `no recorded exchange for SELECT 325041592E5359532E4444463031 "2PAY.SYS.DDF01"; answered 6A82`}},
		},
		{
			name:  "unrecorded READ RECORD answers 6A83",
			trace: []string{selVisa + "|6F019000"},
			steps: []step{{selVisa, "6F019000"}, {"00B2011400", "6A83"}},
			div:   []Divergence{{-1, "00B20114", "no recorded exchange for READ RECORD SFI 2 record 1; answered 6A83"}},
		},
		{
			name:  "unrecorded other command answers 6D00",
			trace: []string{selVisa + "|6F019000"},
			steps: []step{{gpoEmpty, "6D00"}},
			div:   []Divergence{{-1, "80A80000", "no recorded exchange for GET PROCESSING OPTIONS; answered 6D00"}},
			// The cursor stayed: the SELECT is still there, not consumed.
			unused: 1,
		},
		{
			name:  "consumed exchange is not answered twice",
			trace: []string{rr1 + "|70009000"},
			steps: []step{{rr1, "70009000"}, {rr1, "6A83"}},
			div:   []Divergence{{-1, "00B2010C", "no recorded exchange for READ RECORD SFI 1 record 1; answered 6A83"}},
		},
		{
			name:   "trailing exchanges are unused, not divergence",
			trace:  []string{selPPSE + "|6F009000", gd9F7F + "|9F7F009000", rr1 + "|70009000"},
			steps:  []step{{selPPSE, "6F009000"}},
			unused: 2,
		},
		{
			name:  "too short a command",
			trace: []string{selPPSE + "|6F009000"},
			steps: []step{{"00A4", "6700"}},
			div:   []Divergence{{-1, "00A4", "kernel sent a command of 2 bytes; answered 6700"}},
			// unused: the PPSE exchange was never reached.
			unused: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReplayer(traceOf(t, tc.trace...))
			for i, s := range tc.steps {
				got, err := r.Transmit(context.Background(), mustHex(t, s.cmd))
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if h := strings.ToUpper(hex.EncodeToString(got)); h != s.resp {
					t.Fatalf("step %d: %s answered %s, want %s", i, s.cmd, h, s.resp)
				}
			}
			if got := r.Divergence(); !reflect.DeepEqual(got, tc.div) {
				t.Errorf("divergence:\n got %#v\nwant %#v", got, tc.div)
			}
			if r.Sent() != len(tc.steps) {
				t.Errorf("Sent = %d, want %d", r.Sent(), len(tc.steps))
			}
			if r.Unused() != tc.unused {
				t.Errorf("Unused = %d, want %d", r.Unused(), tc.unused)
			}
		})
	}
}

func TestReplayerResponseIsACopy(t *testing.T) {
	tr := traceOf(t, selPPSE+"|6F009000")
	r := NewReplayer(tr)
	got, _ := r.Transmit(context.Background(), mustHex(t, selPPSE))
	got[0] = 0xEE
	if tr.Exchanges[0].Response[0] != 0x6F {
		t.Fatal("caller changed the recording through the response")
	}
}

func TestRecordedCommand(t *testing.T) {
	gpo := "80A80000238321F620C00000000000000100000000000000025000000000000978150101000102030400"
	tr := traceOf(t, selVisa+"|6F019000", "*|6700", gpo+"|77009000", "80AE8000020000|77009000", gpoEmpty+"|6985")
	r := NewReplayer(tr)
	ctx := context.Background()

	if got, ok := r.RecordedCommand(0x80, 0xA8); !ok || hex.EncodeToString(got) != strings.ToLower(gpo) {
		t.Fatalf("RecordedCommand(GPO) = %X, %v; want the first recorded GPO (wildcard ignored)", got, ok)
	}
	if _, ok := r.RecordedCommand(0x00, 0x88); ok {
		t.Fatal("RecordedCommand found an INTERNAL AUTHENTICATE that is not recorded")
	}
	// Consume through the first GPO: the next one is the empty-PDOL retry.
	for _, c := range []string{selVisa, "80A8000002830100", gpo} {
		if _, err := r.Transmit(ctx, mustHex(t, c)); err != nil {
			t.Fatal(err)
		}
	}
	if got, ok := r.RecordedCommand(0x80, 0xA8); !ok || hex.EncodeToString(got) != strings.ToLower(gpoEmpty) {
		t.Fatalf("after consuming: RecordedCommand(GPO) = %X, %v; want %s", got, ok, gpoEmpty)
	}
	if got, ok := r.RecordedCommand(0x80, 0xAE); !ok || got[2] != 0x80 {
		t.Fatalf("RecordedCommand(GENERATE AC) = %X, %v", got, ok)
	}
	got, _ := r.RecordedCommand(0x80, 0xAE)
	got[0] = 0
	if tr.Exchanges[3].Command[0] != 0x80 {
		t.Fatal("RecordedCommand returned the recording's own slice")
	}
}

func TestReplayerContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := NewReplayer(traceOf(t, selPPSE+"|6F009000"))
	if _, err := r.Transmit(ctx, mustHex(t, selPPSE)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if r.Unused() != 1 {
		t.Fatal("a cancelled Transmit consumed the recording")
	}
}

func TestDivergenceJSON(t *testing.T) {
	b, err := json.Marshal([]Divergence{{Exchange: 3, Command: "80CA9F7F", Reason: "skipped"}})
	if err != nil || string(b) != `[{"exchange":3,"command":"80CA9F7F","reason":"skipped"}]` {
		t.Fatalf("%s, %v", b, err)
	}
	var none []Divergence
	if b, _ := json.Marshal(none); string(b) != "null" {
		t.Fatalf("no divergence marshals as %s", b)
	}
}

// Replaying every shared trace with the exact recorded commands follows it
// without divergence, "> *" included.
func TestReplaySharedTracesVerbatim(t *testing.T) {
	for _, path := range sharedTraces(t) {
		tr, _ := mustParseFile(t, path)
		r := NewReplayer(tr)
		for i, ex := range tr.Exchanges {
			cmd := ex.Command
			if cmd == nil {
				cmd = []byte{0x80, 0xCA, 0x12, 0x34, 0x00} // anything
			}
			got, err := r.Transmit(context.Background(), cmd)
			if err != nil || hex.EncodeToString(got) != hex.EncodeToString(ex.Response) {
				t.Fatalf("%s exchange %d: %X, %v", path, i, got, err)
			}
		}
		if d := r.Divergence(); d != nil || r.Unused() != 0 || r.Sent() != len(tr.Exchanges) {
			t.Fatalf("%s: divergence %v unused %d sent %d", path, d, r.Unused(), r.Sent())
		}
	}
}
