package pan

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"4999999999999999", "499999******9999"},
		{"5772829193253472", "577282******3472"},
		{"6212345678901234567", "621234*********4567"},
		{"4761739001010", "476173***1010"},
		{"476173900101", "********0101"},
		{"47617390010", "*******0010"},
		{"4761739001", "******9001"},
		{"12345678", "****5678"},
		{"12345", "*2345"},
		{"1234", "****"},
		{"123", "***"},
		{"", ""},
	} {
		if got := Mask(tc.in); got != tc.want {
			t.Errorf("Mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPANNeverLeaks(t *testing.T) {
	p, err := FromBCD([]byte{0x49, 0x99, 0x99, 0x12, 0x34, 0x56, 0x78, 0x99})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(struct{ P PAN }{p})
	for _, s := range []string{p.String(), fmt.Sprintf("%v %+v %#v %s %q", p, p, p, p, p), string(js)} {
		if strings.Contains(s, "1234567") {
			t.Errorf("PAN leaked: %s", s)
		}
	}
	if p.Digits() != "4999991234567899" || p.Last4() != "7899" {
		t.Errorf("digits %s", p.Digits())
	}
}

func TestFromBCD(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
		err  error
	}{
		{"padded", []byte{0x54, 0x13, 0x33, 0x00, 0x89, 0x00, 0x00, 0x1F}, "541333008900001", nil},
		{"digit after pad", []byte{0x54, 0xF3, 0x33, 0x00, 0x89}, "", ErrNotDigits},
		{"hex digit", []byte{0x5A, 0x13, 0x33, 0x00, 0x89}, "", ErrNotDigits},
		{"short", []byte{0x12, 0x34}, "", ErrLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := FromBCD(tc.in)
			if err != tc.err || p.Digits() != tc.want {
				t.Fatalf("got %q, %v; want %q, %v", p.Digits(), err, tc.want, tc.err)
			}
		})
	}
}

func TestTrack2(t *testing.T) {
	b := []byte{0x49, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0xD1, 0x50, 0x92, 0x01, 0x23, 0x45, 0x67, 0x8F}
	tr, err := ParseTrack2(b)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Expiry != "1509" || tr.ServiceCode != "201" || tr.PAN.Digits() != "4999999999999999" {
		t.Errorf("got %+v", tr)
	}
	if s := fmt.Sprint(tr); strings.Contains(s, "1509") || strings.Contains(s, "2345678") {
		t.Errorf("track 2 leaked: %s", s)
	}
	if _, err := ParseTrack2([]byte{0x49, 0x99}); err != ErrTrack2 {
		t.Errorf("no separator: %v", err)
	}
}

func TestLuhn(t *testing.T) {
	ok, _ := Parse("4111111111111111")
	bad, _ := Parse("4111111111111112")
	if !ok.Luhn() || bad.Luhn() {
		t.Error("luhn")
	}
}

func FuzzParseTrack2(f *testing.F) {
	f.Add([]byte{0x49, 0x99, 0xD1, 0x50})
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ParseTrack2(b)
		if err == nil && tr.PAN.Len() < 8 {
			t.Fatal("short PAN accepted")
		}
	})
}
