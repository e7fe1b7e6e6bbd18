package capk_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"posagent/emv/capk"
)

func rid(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestDefault(t *testing.T) {
	l := capk.Default()
	// 144 reference keys - 1 byte-identical duplicate + 3 posagent test CAs.
	if got := l.Len(); got != 146 {
		t.Errorf("Len = %d, want 146", got)
	}
	// The reference list holds one key longer than EMV's 1984 bits; it is
	// kept (oda refuses it with ErrKey) but nothing else may be.
	var long []string
	for _, k := range l.Keys() {
		if len(k.Modulus) > capk.MaxModulusLen {
			long = append(long, k.String())
		}
	}
	if fmt.Sprint(long) != "[A000000004/06 2048-bit (live)]" {
		t.Errorf("keys above 1984 bits: %v", long)
	}
}

func TestCandidatesDuplicatedPairs(t *testing.T) {
	l := capk.Default()
	cases := []struct {
		name      string
		rid       string
		index     byte
		allowTest bool
		wantBits  []int // in order
	}{
		{"Mastercard 05 both kept", "A000000004", 0x05, false, []int{1024, 1408}},
		{"Mastercard 00", "A000000004", 0x00, false, []int{1280, 768}},
		{"Mastercard 01", "A000000004", 0x01, false, []int{1024, 768}},
		{"Mastercard 02", "A000000004", 0x02, false, []int{1536, 896}},
		{"Mastercard 06", "A000000004", 0x06, false, []int{1984, 2048}},
		{"Mastercard FA test, refused", "A000000004", 0xFA, false, nil},
		{"Mastercard FA test, allowed", "A000000004", 0xFA, true, []int{1280, 1152}},
		{"Visa 50", "A000000003", 0x50, false, []int{1024, 1024}},
		{"Visa 51", "A000000003", 0x51, false, []int{768, 1152}},
		{"Visa 52", "A000000003", 0x52, false, []int{1024, 1408}},
		{"B012345678 F3 test only", "B012345678", 0xF3, false, nil},
		{"B012345678 F3 allowed", "B012345678", 0xF3, true, []int{1024, 1152}},
		{"Visa 92 test refused", "A000000003", 0x92, false, nil},
		{"Visa 92 test allowed", "A000000003", 0x92, true, []int{1408}},
		{"Visa 08 live", "A000000003", 0x08, false, []int{1408}},
		{"unknown index", "A000000003", 0x42, true, nil},
		{"short RID", "A0000000", 0x05, true, nil},
		{"girocard not in list", "A000000059", 0x05, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []int
			for _, k := range l.Candidates(rid(c.rid), c.index, c.allowTest) {
				got = append(got, len(k.Modulus)*8)
				if k.Index != c.index || !bytes.Equal(k.RID[:], rid(c.rid)) {
					t.Errorf("candidate %v for %s/%02X", k, c.rid, c.index)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.wantBits) {
				t.Errorf("candidate bits = %v, want %v", got, c.wantBits)
			}
		})
	}
	// Live Mastercard 05 certificates verify with the 1408-bit key starting B8 04 8A BC.
	c := l.Candidates(rid("A000000004"), 0x05, false)
	if !bytes.HasPrefix(c[1].Modulus, []byte{0xB8, 0x04, 0x8A, 0xBC}) {
		t.Errorf("1408-bit Mastercard 05 modulus starts %X", c[1].Modulus[:4])
	}
}

func TestTestFlags(t *testing.T) {
	test := map[string][]byte{
		"A000000003": {0x92, 0x94, 0x95, 0x99},
		"A000000004": {0xEF, 0xF1, 0xF3, 0xF5, 0xF8, 0xFA, 0xFE},
		"A000000025": {0x04, 0x65, 0xA1},
	}
	l := capk.Default()
	for r, idxs := range test {
		for _, i := range idxs {
			t.Run(fmt.Sprintf("%s/%02X", r, i), func(t *testing.T) {
				all := l.Candidates(rid(r), i, true)
				if len(all) == 0 {
					t.Fatal("missing")
				}
				for _, k := range all {
					if !k.Test {
						t.Errorf("%v not flagged test", k)
					}
				}
				if live := l.Candidates(rid(r), i, false); len(live) != 0 {
					t.Errorf("test keys returned with allowTest=false: %v", live)
				}
			})
		}
	}
	for _, k := range l.Keys() {
		if bytes.Equal(k.RID[:], rid("B012345678")) && !k.Test {
			t.Errorf("%v: B012345678 key not flagged test", k)
		}
		if k.Scheme == "posagent-test" && !k.Test {
			t.Errorf("%v: posagent test CA not flagged test", k)
		}
	}
	// Some live keys stay live.
	for _, k := range l.Candidates(rid("A000000003"), 0x09, false) {
		if k.Test {
			t.Errorf("%v flagged test", k)
		}
	}
}

// The published checksums of A000000004 FB/FC/FD match exponent 03, not the
// 02 in the source: the generated list carries 03 and the checksum verifies.
func TestChecksumCorrectedExponents(t *testing.T) {
	l := capk.Default()
	want := map[byte]string{
		0xFB: "6C7289632919ABEE6E1163D7E6BF693FD88EBD35",
		0xFC: "7FB377EEBBCF7E3A6D04015D10E1BDCB15E21B80",
		0xFD: "23CF0D702E0AEFE518E4FA6B836D3CD45B8AAA71",
	}
	for idx, sum := range want {
		t.Run(fmt.Sprintf("%02X", idx), func(t *testing.T) {
			c := l.Candidates(rid("A000000004"), idx, true)
			if len(c) != 1 {
				t.Fatalf("%d candidates", len(c))
			}
			if !bytes.Equal(c[0].Exponent, []byte{3}) {
				t.Errorf("exponent %X, want 03", c[0].Exponent)
			}
			if got := c[0].Checksum(); fmt.Sprintf("%X", got) != sum {
				t.Errorf("checksum %X, want %s", got, sum)
			}
		})
	}
}

func TestCandidatesLiveFirst(t *testing.T) {
	r := [5]byte{0xA0, 0, 0, 0, 0x99}
	mk := func(b byte, test bool) capk.Key {
		return capk.Key{RID: r, Index: 1, Modulus: bytes.Repeat([]byte{b}, 128), Exponent: []byte{3}, Test: test}
	}
	var l capk.List
	l.Add(mk(0xC1, true))
	l.Add(mk(0xC2, false))
	l.Add(mk(0xC3, true))
	l.Add(mk(0xC4, false))
	var got []byte
	for _, k := range l.Candidates(r[:], 1, true) {
		got = append(got, k.Modulus[0])
	}
	if !bytes.Equal(got, []byte{0xC2, 0xC4, 0xC1, 0xC3}) {
		t.Errorf("order %X, want C2 C4 C1 C3", got)
	}
	// Returned keys are copies.
	c := l.Candidates(r[:], 1, false)
	c[0].Modulus[0] = 0
	if l.Candidates(r[:], 1, false)[0].Modulus[0] != 0xC2 {
		t.Error("Candidates shares modulus bytes with the list")
	}
}

func TestDefaultIsIndependent(t *testing.T) {
	a, b := capk.Default(), capk.Default()
	a.Add(capk.Key{RID: [5]byte{1, 2, 3, 4, 5}, Index: 1, Modulus: []byte{0xC0}, Exponent: []byte{3}})
	if a.Len() != b.Len()+1 {
		t.Errorf("Len a=%d b=%d", a.Len(), b.Len())
	}
}

func TestKeyString(t *testing.T) {
	cases := []struct {
		name string
		rid  string
		idx  byte
		test bool
		want string
	}{
		{"live 1408", "A000000004", 0x05, false, "A000000004/05 1408-bit (live)"},
		{"test 1024", "B012345678", 0xF3, true, "B012345678/F3 1024-bit (test)"},
	}
	l := capk.Default()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, k := range l.Candidates(rid(c.rid), c.idx, true) {
				got = append(got, k.String())
			}
			found := false
			for _, s := range got {
				found = found || s == c.want
			}
			if !found {
				t.Errorf("strings %q, want one %q", got, c.want)
			}
		})
	}
}

const goodLine = "A000000003\t92\t03\ttest\t429C954A3859CEF91295F663C963E582ED6EB253\tVISA\t996AF56F569187D09293C14810450ED8EE3357397B18A2458EFAA92DA3B6DF6514EC060195318FD43BE9B8F0CC669E3F844057CBDDF8BDA191BB64473BC8DC9A730DB8F6B4EDE3924186FFD9B8C7735789C23A36BA0B8AF65372EB57EA5D89E7D14E9C7B6B557460F10885DA16AC923F15AF3758F0F03EBD3C5C2C949CBA306DB44E6A2C076C5F67E281D7EF56785DC4D75945E491F01918800A9E2DC66F60080566CE0DAF8D17EAD46AD8E30A247C9F"

func TestParse(t *testing.T) {
	fields := strings.Split(goodLine, "\t")
	with := func(i int, v string) string {
		f := append([]string(nil), fields...)
		f[i] = v
		return strings.Join(f, "\t")
	}
	cases := []struct {
		name     string
		in       string
		wantLen  int
		wantErr  error
		wantLine int
	}{
		{"good", goodLine + "\n", 1, nil, 0},
		{"comments and CRLF", "# c\r\n\r\n" + goodLine + "\r\n", 1, nil, 0},
		{"empty", "", 0, nil, 0},
		{"fields", "# x\nA0\t01\n", 0, capk.ErrFields, 2},
		{"RID hex", with(0, "A00000000Z"), 0, capk.ErrHex, 1},
		{"RID length", with(0, "A0000000"), 0, capk.ErrRID, 1},
		{"index length", with(1, "0092"), 0, capk.ErrIndex, 1},
		{"index hex", with(1, "9"), 0, capk.ErrHex, 1},
		{"exponent length", with(2, "01000001"), 0, capk.ErrExponent, 1},
		{"exponent empty", with(2, ""), 0, capk.ErrExponent, 1},
		{"status", with(3, "maybe"), 0, capk.ErrStatus, 1},
		{"checksum hex", with(4, "XY"), 0, capk.ErrHex, 1},
		{"checksum mismatch", with(4, strings.Repeat("00", 20)), 0, capk.ErrChecksum, 1},
		{"exponent 02 fails checksum", with(2, "02"), 0, capk.ErrChecksum, 1},
		{"modulus short", with(6, "C0FFEE"), 0, capk.ErrModulus, 1},
		{"modulus leading zero", with(6, "00"+fields[6][2:]), 0, capk.ErrModulus, 1},
		{"modulus odd hex", with(6, fields[6][1:]), 0, capk.ErrHex, 1},
		{"second line bad", goodLine + "\n" + with(3, "x"), 0, capk.ErrStatus, 2},
		{"line too long", "#\n" + strings.Repeat("A", 70000), 0, bufio.ErrTooLong, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := capk.Parse(strings.NewReader(c.in))
			if c.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if l.Len() != c.wantLen {
					t.Errorf("Len = %d", l.Len())
				}
				return
			}
			var pe *capk.ParseError
			if !errors.Is(err, c.wantErr) || !errors.As(err, &pe) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if pe.Line != c.wantLine {
				t.Errorf("line %d, want %d", pe.Line, c.wantLine)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(goodLine)
	f.Add("# only a comment\n")
	f.Add("A000000003\t92\t03\ttest\t00\tX\tC0\n")
	f.Fuzz(func(t *testing.T, in string) {
		l, err := capk.Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, k := range l.Keys() {
			sum := k.Checksum()
			if len(k.Modulus) == 0 || len(k.Exponent) == 0 || sum == [20]byte{} {
				t.Fatalf("accepted implausible key %v", k)
			}
		}
	})
}
