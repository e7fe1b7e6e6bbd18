package uplink

import (
	"context"
	"errors"
	"strings"
	"testing"

	"posagent/offline"
)

func TestParseRecord(t *testing.T) {
	good := record{V: recordVersion, MTI: MTIReversal, OrigMTI: MTIFinancialRequest, TransactionID: "t1",
		PAN: fullPAN, Amount: 10, Currency: "978", ProcCode: ProcPurchase, STAN: "000001",
		Transmission: "1125221500", LocalTime: "221500", LocalDate: "1125", Reason: ReasonNoResponse,
		TerminalID: "T0000001"}
	gb, _ := good.marshal()
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{name: "good", in: string(gb), ok: true},
		{name: "not JSON", in: "{" + fullPAN},
		{name: "wrong version", in: strings.Replace(string(gb), `"v":1`, `"v":9`, 1)},
		{name: "financial MTI", in: strings.Replace(string(gb), `"mti":"0400"`, `"mti":"0200"`, 1)},
		{name: "bad PAN", in: strings.Replace(string(gb), fullPAN, "47617390A1010010", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseRecord("t1", []byte(tt.in))
			if tt.ok {
				if err != nil || r.PAN != fullPAN {
					t.Fatalf("parse: %v", err)
				}
				if s := r.String() + r.GoString(); strings.Contains(s, fullPAN) {
					t.Fatalf("record prints the PAN: %s", s)
				}
				return
			}
			var pe *PayloadError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *PayloadError", err)
			}
			if strings.Contains(err.Error(), "4761739") {
				t.Fatalf("error leaks card digits: %v", err)
			}
		})
	}
}

func TestOriginalDataElements(t *testing.T) {
	got := originalData("0200", "000123", "1125221500", "12345")
	want := "0200" + "000123" + "1125221500" + "00000012345" + "00000000000"
	if got != want || len(got) != 42 {
		t.Fatalf("field 90 = %q, want %q", got, want)
	}
}

func FuzzParseRecord(f *testing.F) {
	r := record{V: recordVersion, MTI: MTIAdvice, TransactionID: "x", PAN: fullPAN, Amount: 1, Currency: "978", STAN: "000001", TerminalID: "T0000001"}
	b, _ := r.marshal()
	f.Add(b)
	f.Add([]byte(`{"v":1,"mti":"0420","icc":"AAAA"}`))
	c, _ := NewCodec(nil)
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := parseRecord("id", in)
		if err != nil {
			var pe *PayloadError
			if !errors.As(err, &pe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Whatever parses must build a message without panicking; packing
		// may refuse over-long values with a typed error.
		if _, err := c.Encode(r.message(r.MTI)); err != nil {
			var ee *EncodeError
			if !errors.As(err, &ee) {
				t.Fatalf("untyped encode error %v", err)
			}
		}
	})
}

func TestForwardRefusesUnusableEntries(t *testing.T) {
	c := &Client{codec: mustCodec(t)}
	good := record{V: recordVersion, MTI: MTIReversal, TransactionID: "t", Amount: 1, Currency: "978", STAN: "000001", TerminalID: "T0000001"}
	gb, _ := good.marshal()
	tests := []struct {
		name string
		e    offline.Entry
	}{
		{"garbage payload", offline.Entry{ID: "t", Kind: offline.KindReversal, Payload: []byte("\x00garbage")}},
		{"advice entry holding a reversal", offline.Entry{ID: "t", Kind: offline.KindAdvice, Payload: gb}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Forward(context.Background(), tt.e)
			if !errors.Is(err, offline.ErrRejected) {
				t.Fatalf("err = %v, want offline.ErrRejected (parked, never retried)", err)
			}
		})
	}
}

func mustCodec(t *testing.T) *Codec {
	c, err := NewCodec(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
