package uplink

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"posagent/emv/pan"
	"posagent/emv/tlv"
)

const fullPAN = "4761739001010010"

func sampleMessage(t testing.TB) *Message {
	t.Helper()
	p, err := pan.Parse(fullPAN)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := parseTrack2Field(fullPAN + "=28122011234567890")
	if err != nil {
		t.Fatal(err)
	}
	return &Message{
		MTI: MTIFinancialRequest, PAN: p, ProcessingCode: ProcPurchase, Amount: 1234, HasAmount: true,
		Transmission: "1125221500", STAN: "000042", LocalTime: "221500", LocalDate: "1125",
		Expiry: "2812", MCC: "5411", EntryMode: EntryContactless, PSN: "001", Condition: "00",
		AcquirerID: "12345", Track2: &t2, TerminalID: "T0000001", MerchantID: "MERCHANT0000001",
		Currency: "978", ICC: tlv.Append(tlv.Append(nil, 0x9F26, []byte{1, 2, 3, 4, 5, 6, 7, 8}), 0x9F36, []byte{0, 1}),
		TransactionID: "txn-1", QR: "hQVDUFYwMQ", Original: strings.Repeat("0", 42), NetworkCode: "301",
	}
}

func TestCodecRoundTrip(t *testing.T) {
	c, err := NewCodec(nil)
	if err != nil {
		t.Fatal(err)
	}
	full := sampleMessage(t)
	tests := []struct {
		name string
		m    *Message
	}{
		{name: "all fields incl. secondary bitmap", m: full},
		{name: "network echo", m: &Message{MTI: MTINetwork, Transmission: "1125221500", STAN: "000001", TerminalID: "T0000001", NetworkCode: NetEcho}},
		{name: "response", m: &Message{MTI: MTIFinancialResponse, STAN: "000042", TerminalID: "T0000001", ResponseCode: "51", Amount: 0, HasAmount: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := c.Encode(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			b2, err := c.Encode(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, b2) {
				t.Fatalf("re-encoding differs:\n%X\n%X", b, b2)
			}
			if got.String() != tt.m.String() {
				t.Fatalf("decoded %q, want %q", got, tt.m)
			}
			if tt.m.Track2 != nil && got.Track2.Raw() != tt.m.Track2.Raw() {
				t.Fatal("track 2 changed")
			}
		})
	}
}

func TestMessageStringMasks(t *testing.T) {
	m := sampleMessage(t)
	s := m.String()
	for _, secret := range []string{fullPAN, "2812201", "hQVDUFYwMQ", "0102030405060708"} {
		if strings.Contains(s, secret) {
			t.Errorf("String() leaks %q: %s", secret, s)
		}
	}
	if !strings.Contains(s, "476173******0010") {
		t.Errorf("String() = %s, want masked PAN", s)
	}
}

func TestDescribeMasks(t *testing.T) {
	c, _ := NewCodec(nil)
	b, err := c.Encode(sampleMessage(t))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Describe(&out, nil, b); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, secret := range []string{fullPAN, "28122011234567890", "9F2608010203", "hQVDUFYwMQ"} {
		if strings.Contains(s, secret) {
			t.Errorf("Describe leaks %q:\n%s", secret, s)
		}
	}
	for _, want := range []string{"476173******0010", "476173******0010=****", "000042", "(10 chars hidden)"} {
		if !strings.Contains(s, want) {
			t.Errorf("Describe lacks %q:\n%s", want, s)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	c, _ := NewCodec(nil)
	good, err := c.Encode(&Message{MTI: MTIFinancialResponse, STAN: "000042", TerminalID: "T0000001", ResponseCode: "00", TransactionID: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	withField := func(m *Message) []byte {
		b, err := c.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name      string
		in        []byte
		wantField int
		wantErr   error
	}{
		{name: "empty", in: nil, wantField: -1},
		{name: "MTI only", in: []byte("0210"), wantField: 1},
		{name: "MTI not digits", in: mod(func(b []byte) []byte { b[1] = 'X'; return b }), wantField: 0},
		{name: "bitmap announces absent fields", in: mod(func(b []byte) []byte {
			for i := 4; i < 12; i++ {
				b[i] = 0xff
			}
			return b
		}), wantField: -2},
		{name: "truncated", in: good[:len(good)-3], wantField: FieldTransactionID},
		{name: "trailing bytes", in: append(append([]byte(nil), good...), "XYZ"...), wantField: -1},
		{name: "STAN not digits", in: withField(&Message{MTI: "0210", STAN: "00004A", TerminalID: "T0000001"}), wantField: FieldSTAN},
		{name: "length prefix not digits", in: mod(func(b []byte) []byte {
			i := bytes.Index(b, []byte("03abc"))
			b[i] = 'x'
			return b
		}), wantField: FieldTransactionID},
		{name: "bad ICC TLV", in: withField(&Message{MTI: "0210", STAN: "000001", ICC: []byte{0x9F, 0x26, 0x08, 1}}), wantField: FieldICC},
		{name: "PAN with letters", in: func() []byte {
			b := withField(&Message{MTI: "0200", STAN: "000001", ProcessingCode: "000000"})
			// splice field 2 in by hand: set bit 2, insert LL + value.
			b = append([]byte(nil), b...)
			b[4] |= 0x40
			out := append(append(append([]byte(nil), b[:12]...), []byte("164761A39001010010")...), b[12:]...)
			return out
		}(), wantField: FieldPAN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := c.Decode(tt.in)
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decode = %v, %v; want *DecodeError", m, err)
			}
			if tt.wantField != -2 && de.Field != tt.wantField {
				t.Fatalf("field %d, want %d (%v)", de.Field, tt.wantField, err)
			}
			if strings.Contains(err.Error(), "4761") {
				t.Fatalf("error leaks PAN digits: %v", err)
			}
		})
	}
}

// Crashers and odd inputs found by FuzzDecode are kept, named, in
// testdata/fuzz/FuzzDecode and run as seeds by every go test.

func FuzzDecode(f *testing.F) {
	c, _ := NewCodec(nil)
	for _, m := range []*Message{
		sampleMessage(f),
		{MTI: MTIFinancialResponse, STAN: "000042", TerminalID: "T0000001", ResponseCode: "00", AuthCode: "123456", RRN: "261125000001",
			ICC: tlv.Append(nil, 0x91, []byte{1, 2, 3, 4, 5, 6, 7, 8, '0', '0'})},
		{MTI: MTINetworkResponse, STAN: "000001", TerminalID: "T0000001", ResponseCode: "00", NetworkCode: "001"},
	} {
		b, err := c.Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("0210\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := c.Decode(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("untyped error %T %v", err, err)
			}
			return
		}
		// What decodes must re-encode to the same bytes.
		out, err := c.Encode(m)
		if err != nil {
			t.Fatalf("decoded message does not encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("round trip differs:\n%X\n%X", b, out)
		}
		_ = m.String()
	})
}
