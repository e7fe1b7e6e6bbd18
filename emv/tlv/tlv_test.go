package tlv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		check func(t *testing.T, l []TLV)
	}{
		{"ppse fci", "6F 23 84 0E 32 50 41 59 2E 53 59 53 2E 44 44 46 30 31 A5 11 BF 0C 0E 61 0C 4F 07 A0 00 00 00 03 10 10 87 01 01", func(t *testing.T, l []TLV) {
			if v := Value(l, 0x4F); !bytes.Equal(v, h("A0000000031010")) {
				t.Errorf("4F = %X", v)
			}
			if v := Value(l, 0x87); !bytes.Equal(v, []byte{1}) {
				t.Errorf("87 = %X", v)
			}
		}},
		{"multi-byte tag", "9F 66 04 F6 20 C0 00", func(t *testing.T, l []TLV) {
			if len(l) != 1 || l[0].Tag != 0x9F66 || len(l[0].Value) != 4 {
				t.Errorf("got %+v", l)
			}
		}},
		{"three-byte tag", "DF 81 24 01 55", func(t *testing.T, l []TLV) {
			if l[0].Tag != 0xDF8124 || l[0].Tag.String() != "DF8124" {
				t.Errorf("got %s", l[0].Tag)
			}
		}},
		{"long form 81", "70 81 02 5A 00", func(t *testing.T, l []TLV) {
			if l[0].Children[0].Tag != 0x5A || len(l[0].Children[0].Value) != 0 {
				t.Errorf("got %+v", l)
			}
		}},
		{"long form 82", "90 82 00 03 01 02 03", func(t *testing.T, l []TLV) {
			if !bytes.Equal(l[0].Value, []byte{1, 2, 3}) {
				t.Errorf("got %X", l[0].Value)
			}
		}},
		{"padding between objects", "00 00 5A 01 12 FF FF 5F 24 03 25 12 31 00", func(t *testing.T, l []TLV) {
			if len(l) != 2 || l[1].Tag != 0x5F24 || l[1].Offset != 7 {
				t.Errorf("got %+v", l)
			}
		}},
		{"empty", "", func(t *testing.T, l []TLV) {
			if len(l) != 0 {
				t.Errorf("got %+v", l)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Parse(h(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, l)
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     string
		cause  error
		offset int
		tag    Tag
	}{
		{"length past end", "5A 08 12 34", ErrTruncated, 0, 0x5A},
		{"child past parent", "70 04 5A 05 12 34", ErrTruncated, 2, 0x5A},
		{"truncated tag", "9F", ErrTruncated, 0, 0},
		{"tag too long", "9F FF FF FF 01 00", ErrTagTooLong, 0, 0},
		{"indefinite length", "70 80 00 00", ErrLengthForm, 0, 0x70},
		{"length form 84", "70 84 00 00 00 01 00", ErrLengthForm, 0, 0x70},
		{"missing length", "5A", ErrTruncated, 0, 0x5A},
		{"truncated long length", "5A 82 01", ErrTruncated, 0, 0x5A},
		{"second object bad", "5A 01 12 5F 24 04 25", ErrTruncated, 3, 0x5F24},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(h(tc.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SyntaxError", err)
			}
			if !errors.Is(err, tc.cause) || se.Offset != tc.offset || se.Tag != tc.tag {
				t.Fatalf("err = %v (offset %d tag %s), want cause %v at %d tag %s", err, se.Offset, se.Tag, tc.cause, tc.offset, tc.tag)
			}
		})
	}
}

func TestTooDeep(t *testing.T) {
	b := []byte{}
	for i := 0; i < 40; i++ {
		b = Encode(0x70, b)
	}
	if _, err := Parse(b); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("err = %v", err)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 255, 256, 1000, 70000} {
		v := bytes.Repeat([]byte{0xAB}, n)
		enc := Encode(0x9F46, v)
		l, err := Parse(enc)
		if err != nil || len(l) != 1 || !bytes.Equal(l[0].Value, v) {
			t.Fatalf("n=%d: %v", n, err)
		}
		if !bytes.Equal(Marshal(l), enc) {
			t.Fatalf("n=%d: marshal differs", n)
		}
	}
}

func TestDOL(t *testing.T) {
	// Visa PDOL from the VisaCardPpse trace.
	d, err := ParseDOL(h("9F 66 04 9F 02 06 9F 03 06 9F 1A 02 95 05 5F 2A 02 9A 03 9C 01 9F 37 04"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 33 || !d.Has(0x9F66) || d.Has(0x9F4E) {
		t.Fatalf("len %d", d.Len())
	}
	vals := map[Tag][]byte{
		0x9F66: h("3600C000"), 0x9F02: h("1234"), 0x9F1A: h("0250"),
		0x5F2A: h("0978"), 0x9A: h("260115"), 0x9C: {0}, 0x9F37: h("01020304"),
	}
	got := d.Build(func(t Tag) ([]byte, bool) { v, ok := vals[t]; return v, ok })
	want := h("3600C000 000000001234 000000000000 0250 0000000000 0978 260115 00 01020304")
	if !bytes.Equal(got, want) {
		t.Fatalf("built %X\nwant  %X", got, want)
	}
	m, err := d.Split(got)
	if err != nil || !bytes.Equal(m[0x9F37], h("01020304")) {
		t.Fatalf("split: %v %X", err, m[0x9F37])
	}
	if _, err := d.Split(got[1:]); !errors.Is(err, ErrInvalidData) {
		t.Fatalf("short split: %v", err)
	}
}

func TestFit(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    string
		n    int
		f    Format
		want string
	}{
		{"n pads left", "1234", 6, FormatN, "000000001234"},
		{"n truncates left", "000000001234", 2, FormatN, "1234"},
		{"cn pads right FF", "1234", 4, FormatCN, "1234FFFF"},
		{"an pads right 00", "4142", 4, FormatAN, "41420000"},
		{"b truncates right", "01020304", 2, FormatB, "0102"},
		{"exact", "0102", 2, FormatB, "0102"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Fit(h(tc.v), tc.n, tc.f); !bytes.Equal(got, h(tc.want)) {
				t.Fatalf("got %X want %s", got, tc.want)
			}
		})
	}
}

func TestDOLMissingAndConstructed(t *testing.T) {
	d := DOL{{0x9F4E, 3}, {0x70, 2}}
	got := d.Build(func(Tag) ([]byte, bool) { return []byte{1, 2, 3, 4}, true })
	if !bytes.Equal(got, h("010203 0000")) {
		t.Fatalf("got %X", got)
	}
	got = d.Build(func(Tag) ([]byte, bool) { return nil, false })
	if !bytes.Equal(got, make([]byte, 5)) {
		t.Fatalf("got %X", got)
	}
}

func TestDumpMasks(t *testing.T) {
	l, err := Parse(h("70 21 5A 08 49 99 99 12 34 56 99 99 57 0A 49 99 99 12 34 56 99 99 D2 51 9F 26 04 AA BB CC DD 50 02 43 42"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	Dump(&buf, l, DumpOptions{})
	out := buf.String()
	for _, leak := range []string{"123456", "AABBCCDD", "D251"} {
		if strings.Contains(out, leak) {
			t.Errorf("dump leaks %s:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "499999******9999") || !strings.Contains(out, `"CB"`) {
		t.Errorf("dump:\n%s", out)
	}
	buf.Reset()
	Dump(&buf, l, DumpOptions{Unmasked: true})
	if !strings.Contains(buf.String(), "4999991234569999") {
		t.Errorf("unmasked dump:\n%s", buf.String())
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"6F 23 84 0E 32 50 41 59 2E 53 59 53 2E 44 44 46 30 31 A5 11 BF 0C 0E 61 0C 4F 07 A0 00 00 00 03 10 10 87 01 01", "70 81 02 5A 00", "9F FF", "00 FF"} {
		f.Add(h(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Parse(b)
		if err != nil {
			return
		}
		// Re-encoding what was decoded must decode to the same tree.
		l2, err := Parse(Marshal(l))
		if err != nil {
			t.Fatalf("re-encoded data does not parse: %v", err)
		}
		if !bytes.Equal(Marshal(l2), Marshal(l)) {
			t.Fatal("round trip differs")
		}
		var buf bytes.Buffer
		Dump(&buf, l, DumpOptions{})
	})
}

func FuzzDOL(f *testing.F) {
	f.Add(h("9F 66 04 9F 02 06 9F 03 06 9F 1A 02 95 05 5F 2A 02 9A 03 9C 01 9F 37 04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDOL(b)
		if err != nil {
			return
		}
		out := d.Build(func(Tag) ([]byte, bool) { return b, true })
		if len(out) != d.Len() {
			t.Fatalf("built %d bytes, DOL asks %d", len(out), d.Len())
		}
		if _, err := d.Split(out); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNumeric(t *testing.T) {
	for _, tc := range []struct {
		v    uint64
		n    int
		want string
	}{
		{1234, 6, "000000001234"}, {978, 2, "0978"}, {260115, 3, "260115"}, {123456, 2, "3456"},
	} {
		b := EncodeN(tc.v, tc.n)
		if !bytes.Equal(b, h(tc.want)) {
			t.Errorf("EncodeN(%d, %d) = %X, want %s", tc.v, tc.n, b, tc.want)
		}
		if v, ok := DecodeN(b); !ok || v != tc.v%uint64(pow100(tc.n)) {
			t.Errorf("DecodeN(%X) = %d %v", b, v, ok)
		}
	}
	if _, ok := DecodeN([]byte{0x1A}); ok {
		t.Error("DecodeN accepted a hex nibble")
	}
}

func pow100(n int) uint64 {
	p := uint64(1)
	for i := 0; i < n; i++ {
		p *= 100
	}
	return p
}
