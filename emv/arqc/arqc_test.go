package arqc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"os/exec"
	"strings"
	"testing"
)

func mustKey(t testing.TB, s string) Key {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		t.Fatalf("bad key hex %q", s)
	}
	return Key(b)
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func kcv(k Key) string { return fmt.Sprintf("%X", k.CheckValue(2)) }

// Published vectors from the pyemv test suite (knovichikhin/pyemv,
// tests/test_ac_hsm.py, tests/test_kd.py and the kd module docs).
func TestDeriveICCMasterKeyVectors(t *testing.T) {
	imk := mustKey(t, "0123456789ABCDEFFEDCBA9876543210")
	if got := kcv(imk); got != "08D7" {
		t.Fatalf("IMK KCV = %s, want 08D7", got)
	}
	tests := []struct {
		name    string
		pan     string
		psn     byte
		wantKey string // full key, if published
		wantKCV string
	}{
		{name: "17-digit PAN psn 01", pan: "12345678901234567", psn: 0x01, wantKey: "73AD54688CEF2934B0979857E3C719F1"},
		{name: "17-digit PAN psn 45", pan: "12345678901234567", psn: 0x45, wantKCV: "FF08"},
		{name: "16-digit PAN psn 45", pan: "9901234567890123", psn: 0x45, wantKCV: "1DA5"},
		{name: "F padding ignored", pan: "9901234567890123F", psn: 0x45, wantKCV: "1DA5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mk := DeriveICCMasterKey(imk, tt.pan, tt.psn)
			if tt.wantKey != "" && mk != mustKey(t, tt.wantKey) {
				t.Errorf("key = %X, want %s", mk[:], tt.wantKey)
			}
			if tt.wantKCV != "" && kcv(mk) != tt.wantKCV {
				t.Errorf("KCV = %s, want %s", kcv(mk), tt.wantKCV)
			}
			for i, b := range mk {
				if bits.OnesCount8(b)%2 != 1 {
					t.Errorf("byte %d (%02X) has even parity", i, b)
				}
			}
		})
	}
}

func TestSessionKeyVectors(t *testing.T) {
	tests := []struct {
		name string
		mk   string
		atc  [2]byte
		want string
	}{
		{name: "pyemv kd doc ATC 001C", mk: "0123456789ABCDEFFEDCBA9876543210", atc: [2]byte{0x00, 0x1C}, want: "E9FB384AF807B940FEDCEA613461B0C4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SessionKey(mustKey(t, tt.mk), tt.atc)
			if got != mustKey(t, tt.want) {
				t.Errorf("SessionKey = %X, want %s", got[:], tt.want)
			}
		})
	}
}

// TestCryptogramChainVector follows the published chain: IMK -> ICC MK ->
// session key (R = 1234567890123456) -> ARQC -> ARPC method 1 (with the ICC MK).
func TestCryptogramChainVector(t *testing.T) {
	imk := mustKey(t, "0123456789ABCDEFFEDCBA9876543210")
	mk := DeriveICCMasterKey(imk, "9901234567890123", 0x45)
	sk := commonSessionKey(mk, [8]byte(mustHex(t, "1234567890123456")))
	if got := kcv(sk); got != "0995" {
		t.Fatalf("session key KCV = %s, want 0995", got)
	}
	tests := []struct {
		name     string
		data     string
		wantARQC string
		wantARPC string
	}{
		{name: "16 bytes, full pad block", data: "0123456789ABCDEF0123456789ABCDEF", wantARQC: "4B46013359B7A58B", wantARPC: "F8C9CECAABD55AD1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ac := Compute(sk, mustHex(t, tt.data))
			if got := fmt.Sprintf("%X", ac); got != tt.wantARQC {
				t.Fatalf("ARQC = %s, want %s", got, tt.wantARQC)
			}
			arpc := ARPC(mk, ac, [2]byte{0, 0})
			if got := fmt.Sprintf("%X", arpc); got != tt.wantARPC {
				t.Fatalf("ARPC = %s, want %s", got, tt.wantARPC)
			}
		})
	}
}

// openssl runs the openssl CLI as an independent DES implementation.
func openssl(t *testing.T, in []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("openssl", append([]string{"enc", "-nopad", "-provider", "legacy", "-provider", "default"}, args...)...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %v: %v: %s", args, err, stderr.String())
	}
	return out
}

// TestAgainstOpenSSL recomputes derivation, session key, retail MAC and ARPC
// with the openssl CLI (independent DES/3DES) for several inputs.
func TestAgainstOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl CLI not installed")
	}
	tests := []struct {
		name   string
		scheme string
		pan    string
		psn    byte
		atc    [2]byte
		data   string
		arc    [2]byte
	}{
		{name: "visa short data", scheme: "visa", pan: "4761739001010010", psn: 0x01, atc: [2]byte{0x00, 0x27}, data: "000000001000", arc: [2]byte{'0', '0'}},
		{name: "mastercard 8-byte multiple", scheme: "mastercard", pan: "5413330089010434", psn: 0x00, atc: [2]byte{0x12, 0x34}, data: "00000000100000000000000009780000008000097825112500123456780000", arc: [2]byte{'0', '5'}},
		{name: "unionpay 19-digit PAN", scheme: "unionpay", pan: "6234567890123456789", psn: 0x02, atc: [2]byte{0xFF, 0xFE}, data: "0102030405060708090A0B0C0D0E0F101112131415161718", arc: [2]byte{'5', '1'}},
		{name: "empty data", scheme: "visa", pan: "4000", psn: 0x99, atc: [2]byte{0, 1}, data: "", arc: [2]byte{'0', '0'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imk, ok := testMasterKey(tt.scheme)
			if !ok {
				t.Fatalf("no test key for %s", tt.scheme)
			}
			// Option A by hand.
			digits := tt.pan + fmt.Sprintf("%02X", tt.psn)
			if len(digits) > 16 {
				digits = digits[len(digits)-16:]
			}
			digits = strings.Repeat("0", 16-len(digits)) + digits
			y := mustHex(t, digits)
			ny := make([]byte, 8)
			for i := range y {
				ny[i] = ^y[i]
			}
			raw := openssl(t, append(y, ny...), "-des-ede", "-K", fmt.Sprintf("%X", imk[:]))
			var mk Key
			copy(mk[:], raw)
			setOddParity(&mk)
			if got := DeriveICCMasterKey(imk, tt.pan, tt.psn); got != mk {
				t.Fatalf("DeriveICCMasterKey = %X, openssl %X", got[:], mk[:])
			}
			// Session key by hand.
			r := []byte{tt.atc[0], tt.atc[1], 0xF0, 0, 0, 0, 0, 0, tt.atc[0], tt.atc[1], 0x0F, 0, 0, 0, 0, 0}
			var sk Key
			copy(sk[:], openssl(t, r, "-des-ede", "-K", fmt.Sprintf("%X", mk[:])))
			setOddParity(&sk)
			if got := SessionKey(mk, tt.atc); got != sk {
				t.Fatalf("SessionKey = %X, openssl %X", got[:], sk[:])
			}
			// Retail MAC by hand: DES-CBC(K1), last block, D(K2), E(K1).
			data := mustHex(t, tt.data)
			padded := append(append([]byte{}, data...), 0x80)
			for len(padded)%8 != 0 {
				padded = append(padded, 0)
			}
			cbc := openssl(t, padded, "-des-cbc", "-K", fmt.Sprintf("%X", sk[:8]), "-iv", "0000000000000000")
			last := cbc[len(cbc)-8:]
			d := openssl(t, last, "-d", "-des-ecb", "-K", fmt.Sprintf("%X", sk[8:]))
			want := openssl(t, d, "-des-ecb", "-K", fmt.Sprintf("%X", sk[:8]))
			ac := Compute(sk, data)
			if !bytes.Equal(ac[:], want) {
				t.Fatalf("Compute = %X, openssl %X", ac, want)
			}
			if !Verify(imk, tt.pan, tt.psn, tt.atc, data, ac) {
				t.Fatal("Verify rejected the right cryptogram")
			}
			// ARPC method 1 by hand.
			x := append([]byte{}, ac[:]...)
			x[0] ^= tt.arc[0]
			x[1] ^= tt.arc[1]
			wantARPC := openssl(t, x, "-des-ede", "-K", fmt.Sprintf("%X", sk[:]))
			if got := ARPC(sk, ac, tt.arc); !bytes.Equal(got[:], wantARPC) {
				t.Fatalf("ARPC = %X, openssl %X", got, wantARPC)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	imk, _ := testMasterKey("visa")
	other, _ := testMasterKey("mastercard")
	pan, psn, atc := "4761739001010010", byte(1), [2]byte{0, 5}
	data := mustHex(t, "000000001000000000000000097800000000000978251125003901020304")
	ac := Compute(SessionKey(DeriveICCMasterKey(imk, pan, psn), atc), data)
	flipped := append([]byte{}, data...)
	flipped[5] ^= 1
	badAC := ac
	badAC[7] ^= 0x80
	tests := []struct {
		name string
		imk  Key
		pan  string
		psn  byte
		atc  [2]byte
		data []byte
		ac   [8]byte
		want bool
	}{
		{name: "genuine", imk: imk, pan: pan, psn: psn, atc: atc, data: data, ac: ac, want: true},
		{name: "other issuer key", imk: other, pan: pan, psn: psn, atc: atc, data: data, ac: ac},
		{name: "other PAN", imk: imk, pan: "4761739001010011", psn: psn, atc: atc, data: data, ac: ac},
		{name: "other PSN", imk: imk, pan: pan, psn: 2, atc: atc, data: data, ac: ac},
		{name: "replayed ATC", imk: imk, pan: pan, psn: psn, atc: [2]byte{0, 4}, data: data, ac: ac},
		{name: "amount changed", imk: imk, pan: pan, psn: psn, atc: atc, data: flipped, ac: ac},
		{name: "cryptogram bit flipped", imk: imk, pan: pan, psn: psn, atc: atc, data: data, ac: badAC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.imk, tt.pan, tt.psn, tt.atc, tt.data, tt.ac); got != tt.want {
				t.Errorf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func fullInput() map[uint32][]byte {
	return map[uint32][]byte{
		0x9F02: {0, 0, 0, 0, 0x10, 0},
		0x9F03: {0, 0, 0, 0, 0, 0},
		0x9F1A: {0x09, 0x78},
		0x95:   {0, 0, 0, 0x80, 0},
		0x5F2A: {0x09, 0x78},
		0x9A:   {0x26, 0x11, 0x25},
		0x9C:   {0x00},
		0x9F37: {1, 2, 3, 4},
		0x82:   {0x19, 0x80},
		0x9F36: {0x00, 0x27},
		0x9F10: {0x06, 0x01, 0x0A, 0x03, 0xA0, 0x00, 0x00},
	}
}

func TestInput(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(m map[uint32][]byte)
		want    string
		wantTag uint32
		wantErr error
	}{
		{name: "all present", edit: func(map[uint32][]byte) {},
			want: "000000001000" + "000000000000" + "0978" + "0000008000" + "0978" + "261125" + "00" + "01020304" + "1980" + "0027" + "06010A03A00000"},
		{name: "unpredictable number missing", edit: func(m map[uint32][]byte) { delete(m, 0x9F37) }, wantTag: 0x9F37, wantErr: ErrMissingTag},
		{name: "IAD missing", edit: func(m map[uint32][]byte) { delete(m, 0x9F10) }, wantTag: 0x9F10, wantErr: ErrMissingTag},
		{name: "IAD empty", edit: func(m map[uint32][]byte) { m[0x9F10] = []byte{} }, wantTag: 0x9F10, wantErr: ErrMissingTag},
		{name: "amount short", edit: func(m map[uint32][]byte) { m[0x9F02] = []byte{1, 0} }, wantTag: 0x9F02, wantErr: ErrTagLength},
		{name: "TVR long", edit: func(m map[uint32][]byte) { m[0x95] = make([]byte, 6) }, wantTag: 0x95, wantErr: ErrTagLength},
		{name: "first missing wins", edit: func(m map[uint32][]byte) { delete(m, 0x82); delete(m, 0x9F03) }, wantTag: 0x9F03, wantErr: ErrMissingTag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fullInput()
			tt.edit(m)
			got, err := Input(func(tag uint32) []byte { return m[tag] })
			if tt.wantErr != nil {
				var te *TagError
				if !errors.As(err, &te) || !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want *TagError wrapping %v", err, tt.wantErr)
				}
				if te.Tag != tt.wantTag {
					t.Fatalf("tag = %X, want %X", te.Tag, tt.wantTag)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("%X", tt.wantTag)) {
					t.Fatalf("error %q does not name tag %X", err, tt.wantTag)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%X", got) != strings.ToUpper(tt.want) {
				t.Fatalf("Input = %X\nwant    %s", got, strings.ToUpper(tt.want))
			}
		})
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	k, _ := testMasterKey("visa")
	raw := fmt.Sprintf("%X", k[:])
	for _, format := range []string{"%v", "%s", "%+v", "%#v", "%x", "%X"} {
		out := fmt.Sprintf(format, k)
		if strings.Contains(strings.ToUpper(out), raw[:8]) || strings.Contains(strings.ToUpper(out), raw[16:24]) {
			t.Errorf("%s printed key material: %s", format, out)
		}
	}
	if !strings.Contains(k.String(), "KCV 08D7") {
		t.Errorf("String = %q, want the KCV", k.String())
	}
}

func FuzzInput(f *testing.F) {
	f.Add([]byte{6, 0, 0, 0, 0, 0x10, 0}, uint16(0))
	f.Add([]byte{}, uint16(0xffff))
	f.Fuzz(func(t *testing.T, blob []byte, drop uint16) {
		// Each tag gets a slice of blob sized by its first byte; drop masks tags out.
		vals := map[uint32][]byte{}
		for i, tag := range InputTags() {
			if drop&(1<<i) != 0 {
				continue
			}
			if len(blob) == 0 {
				break
			}
			n := int(blob[0]) % 9
			blob = blob[1:]
			if n > len(blob) {
				n = len(blob)
			}
			vals[tag] = blob[:n]
			blob = blob[n:]
		}
		out, err := Input(func(tag uint32) []byte { return vals[tag] })
		if err != nil {
			var te *TagError
			if !errors.As(err, &te) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		sum := 0
		for _, tag := range InputTags() {
			sum += len(vals[tag])
		}
		if len(out) != sum {
			t.Fatalf("len = %d, want %d", len(out), sum)
		}
		imk, _ := testMasterKey("visa")
		ac := Compute(SessionKey(DeriveICCMasterKey(imk, "4000", 1), [2]byte{0, 1}), out)
		if !Verify(imk, "4000", 1, [2]byte{0, 1}, out, ac) {
			t.Fatal("round trip failed")
		}
	})
}

// An ARQC computed over the GPO's TVR still verifies when the reader has
// since flagged an fDDA failure (ReaderODAFailed) in the online message.
func TestInputsReaderODAFlag(t *testing.T) {
	imk, _ := testMasterKey("visa")
	vals := map[uint32][]byte{}
	for _, tag := range InputTags() {
		vals[tag] = []byte{1}
	}
	vals[0x9F02], vals[0x9F03] = make([]byte, 6), make([]byte, 6)
	vals[0x9F1A], vals[0x5F2A], vals[0x9F36] = []byte{2, 0x50}, []byte{9, 0x78}, []byte{0, 1}
	vals[0x95], vals[0x9A], vals[0x9F37], vals[0x82] = make([]byte, 5), []byte{0x26, 1, 1}, []byte{1, 2, 3, 4}, []byte{0x20, 0}
	get := func(tag uint32) []byte { return vals[tag] }
	data, err := Input(get)
	if err != nil {
		t.Fatal(err)
	}
	ac := Compute(SessionKey(DeriveICCMasterKey(imk, "4761739001010010", 1), [2]byte{0, 1}), data)
	vals[0x95] = []byte{ReaderODAFailed, 0, 0, 0, 0}
	inputs, err := Inputs(get)
	if err != nil || len(inputs) != 2 {
		t.Fatalf("Inputs = %d, %v", len(inputs), err)
	}
	if Verify(imk, "4761739001010010", 1, [2]byte{0, 1}, inputs[0], ac) || !Verify(imk, "4761739001010010", 1, [2]byte{0, 1}, inputs[1], ac) {
		t.Fatal("want: flagged input fails, input as the card saw it verifies")
	}
	vals[0x95] = []byte{0x80, 0, 0, 0, 0}
	if inputs, _ := Inputs(get); len(inputs) != 1 {
		t.Fatalf("no reader ODA flag: %d inputs, want 1", len(inputs))
	}
}
