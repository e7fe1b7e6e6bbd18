package trace

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"testing"

	"posagent/emv/tlv"
)

// Crashers and edge inputs found while writing the parser, kept as named
// regression cases (they also seed the fuzzers).
var parseRegressions = []struct {
	name string
	in   string
}{
	{"lone marker", ">"},
	{"lone response marker", "<"},
	{"wildcard without response", "> *"},
	{"BOM only", "\uFEFF"},
	{"metadata colon only", "@:"},
	{"hex with tab", "> 00\tA4 04 00\n< 90\t00"},
	{"CR only line", "\r\n> 00 A4 04 00\r\n< 90 00"},
	{"NUL in comment", "# \x00\n"},
	// Fuzz crasher 5878b3adfdb47761: a lone CR inside a comment parsed,
	// and WriteTo then refused the comment. Now a SyntaxError.
	{"lone CR inside a comment", "#000\r0"},
}

func FuzzParse(f *testing.F) {
	for _, path := range sharedTraces(f) {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, r := range parseRegressions {
		f.Add([]byte(r.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tr, err := Parse(bytes.NewReader(in))
		if err != nil {
			if tr != nil {
				t.Fatal("trace and error both returned")
			}
			return
		}
		var out bytes.Buffer
		if _, err := tr.WriteTo(&out); err != nil {
			t.Fatalf("parsed trace not writable: %v", err)
		}
		back, err := Parse(&out)
		if err != nil {
			t.Fatalf("re-parse of WriteTo output: %v\n%s", err, out.String())
		}
		if !reflect.DeepEqual(withoutLines(back), withoutLines(tr)) {
			t.Fatalf("round trip changed the trace:\n%#v\n%#v", tr, back)
		}
		_ = Mask(tr) // must not panic on any parsed content
		_, _ = RecordedDate(tr)
	})
}

func TestParseRegressions(t *testing.T) {
	for _, r := range parseRegressions {
		t.Run(r.name, func(t *testing.T) {
			tr, err := Parse(bytes.NewReader([]byte(r.in)))
			if err != nil {
				return // a typed error is fine; a panic is not
			}
			var out bytes.Buffer
			if _, err := tr.WriteTo(&out); err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(&out); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// FuzzReplay sends random commands to a replayer of a shared trace: no
// panic, always a response with a status word, counters consistent.
func FuzzReplay(f *testing.F) {
	tr, _ := mustParseFile(f, "../../testdata/traces/VisaCardPpse.trace")
	f.Add([]byte{0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0, 0, 0, 3, 0}, []byte{0x00, 0xC0, 0, 0, 0x33})
	f.Add([]byte{0x80, 0xCA, 0x9F, 0x7F, 0x00}, []byte{0x00, 0xB2, 0x01, 0x5C})
	f.Add([]byte{}, []byte{0x00, 0x0C, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x02, 0xA0, 0x00, 0x00, 0x00}, []byte{0x00, 0xA4, 0x04, 0x00, 0xFF})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		r := NewReplayer(tr)
		for i, cmd := range [][]byte{a, b, a} {
			if _, ok := r.RecordedCommand(0x80, 0xA8); !ok && i == 0 {
				t.Fatal("fresh replayer of VisaCardPpse has no recorded GPO")
			}
			resp, err := r.Transmit(context.Background(), cmd)
			if err != nil || len(resp) < 2 {
				t.Fatalf("Transmit(%X) = %X, %v", cmd, resp, err)
			}
			if r.Sent() != i+1 {
				t.Fatalf("Sent = %d after %d commands", r.Sent(), i+1)
			}
			if r.Unused() < 0 || r.Unused() > len(tr.Exchanges) {
				t.Fatalf("Unused = %d", r.Unused())
			}
		}
		for _, d := range r.Divergence() {
			if d.Exchange < -1 || d.Exchange >= len(tr.Exchanges) || d.Reason == "" {
				t.Fatalf("bad divergence %+v", d)
			}
		}
	})
}

// FuzzMask masks arbitrary exchanges: no panic, lengths kept, and a full
// PAN found in a 5A object is gone afterwards.
func FuzzMask(f *testing.F) {
	f.Add([]byte{0x00, 0xB2, 0x01, 0x0C, 0x00}, []byte{0x70, 0x0A, 0x5A, 0x08, 0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10, 0x90, 0x00})
	f.Add([]byte{0x80, 0xAE, 0x80, 0x00, 0x00}, []byte{0x80, 0x0D, 0x80, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x06, 0x01, 0x90, 0x00})
	f.Add([]byte{0x00, 0x20, 0x00, 0x80, 0x02, 0x24, 0x12}, []byte{0x56, 0x05, 0x42, 0x31, 0x5E, 0x41, 0x5E, 0x90, 0x00})
	f.Fuzz(func(t *testing.T, cmd, resp []byte) {
		tr := &Trace{Exchanges: []Exchange{{Command: cmd, Response: resp}, {Command: resp, Response: cmd}}}
		m := Mask(tr)
		for i, ex := range m.Exchanges {
			if len(ex.Command) != len(tr.Exchanges[i].Command) || len(ex.Response) != len(tr.Exchanges[i].Response) {
				t.Fatalf("exchange %d: lengths changed", i)
			}
		}
		if len(resp) < 2 {
			return
		}
		objs, err := tlv.Parse(resp[:len(resp)-2])
		if err != nil {
			return
		}
		if o, ok := tlv.Find(objs, 0x5A); ok && digitRun(o.Value, 0) > 10 {
			n := digitRun(o.Value, 0)
			if nib(o.Value, 6) != 9 || (n > 11 && nib(o.Value, n-5) != 9) {
				// The original had a non-9 digit in the middle: it must be
				// masked in the copy.
				mo, err := tlv.Parse(m.Exchanges[0].Response[:len(resp)-2])
				if err != nil {
					t.Fatalf("masked response no longer parses: %v", err)
				}
				v, _ := tlv.Find(mo, 0x5A)
				for k := 6; k < n-4; k++ {
					if nib(v.Value, k) != 9 {
						t.Fatalf("PAN digit %d not masked: %X", k, v.Value)
					}
				}
			}
		}
	})
}
