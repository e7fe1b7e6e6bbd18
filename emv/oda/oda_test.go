package oda_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"posagent/emv/capk"
	"posagent/emv/cardsim/perso"
	"posagent/emv/oda"
)

// errWrongKey stands for the errors a wrong key of the right length gives.
var errWrongKey = errors.New("wrong key: ErrLength, ErrTrailer or ErrHeader")

func isErr(err, want error) bool {
	if want == errWrongKey {
		return errors.Is(err, oda.ErrLength) || errors.Is(err, oda.ErrTrailer) || errors.Is(err, oda.ErrHeader)
	}
	return errors.Is(err, want)
}

// noLeak fails if err's text holds the full PAN or key bytes.
func noLeak(t *testing.T, err error, c *chain) {
	t.Helper()
	if err == nil {
		return
	}
	s := err.Error()
	secrets := []string{c.pan, fmt.Sprintf("%X", c.issuer.Key.N.Bytes()[:8]), fmt.Sprintf("%X", c.ca.Key.N.Bytes()[:8]),
		fmt.Sprintf("%X", c.icc.Key.N.Bytes()[:8]), fmt.Sprintf("%x", c.issuer.Key.N.Bytes()[:8])}
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			t.Errorf("error %q leaks %q", s, sec)
		}
	}
	var ce *oda.CheckError
	if !errors.As(err, &ce) {
		t.Errorf("error %v is not a *oda.CheckError", err)
	}
}

func TestRecoverIssuerKeyChains(t *testing.T) {
	for _, scheme := range perso.Schemes {
		t.Run(scheme, func(t *testing.T) {
			c := newChain(t, scheme)
			ik, err := oda.RecoverIssuerKey(c.cands(), c.issuer.Cert, c.issuer.Remainder, c.issuer.Exponent, c.pan, txnDate, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ik.Modulus, c.issuer.Key.N.Bytes()) {
				t.Error("recovered issuer modulus differs from the issuer key")
			}
			if ik.IssuerID != c.issuerID || ik.Expiry != "1229" || !bytes.Equal(ik.Serial, c.serial[:]) {
				t.Errorf("fields: id %q expiry %q serial %X", ik.IssuerID, ik.Expiry, ik.Serial)
			}
			if ik.CA.Index != c.ca.Index || ik.CA.RID != c.ca.RID {
				t.Errorf("CA = %v", ik.CA)
			}
			str := ik.String()
			if !strings.Contains(str, "via CA "+c.ca.CAPK().String()) || strings.Contains(str, fmt.Sprintf("%X", ik.Modulus[:8])) {
				t.Errorf("String() = %q", str)
			}
			icc, err := oda.RecoverICCKey(ik.PublicKey, c.icc.Cert, c.icc.Remainder, c.icc.Exponent, c.static, c.pan, txnDate)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(icc.Modulus, c.icc.Key.N.Bytes()) || !bytes.Equal(icc.Exponent, c.icc.Exponent) {
				t.Error("recovered ICC key differs from the ICC key")
			}
		})
	}
}

func TestRecoverIssuerKeyChecks(t *testing.T) {
	visa := newChain(t, "visa")         // issuer key with remainder
	mc := newChain(t, "mastercard")     // issuer key fits, padded with BB
	unionpay := newChain(t, "unionpay") // same CA length as visa
	n := len(visa.issuer.Cert)
	ik, _ := perso.TestIssuerKey("visa")
	expired, err := visa.ca.NewIssuer(ik, visa.issuerID, "1026", visa.serial)
	if err != nil {
		t.Fatal(err)
	}
	novEnd, err := visa.ca.NewIssuer(ik, visa.issuerID, "1126", visa.serial)
	if err != nil {
		t.Fatal(err)
	}
	otherID, err := visa.ca.NewIssuer(ik, "476174", "1229", visa.serial)
	if err != nil {
		t.Fatal(err)
	}
	hashTail := [][]byte{visa.issuer.Remainder, visa.issuer.Exponent}
	resignVisa := func(mutate func(b []byte), rehash bool) []byte {
		return resign(t, visa.ca.Key, visa.issuer.Cert, mutate, rehash, hashTail...)
	}
	revoked := oda.RevocationList{{RID: visa.ca.RID, Index: visa.ca.Index, Serial: visa.serial}}
	otherRevoked := oda.RevocationList{{RID: visa.ca.RID, Index: visa.ca.Index, Serial: [3]byte{0x12, 0x34, 0x57}}}

	type tc struct {
		name      string
		c         *chain
		cands     []capk.Key
		cert      []byte
		remainder []byte
		exponent  []byte
		pan       string
		date      time.Time
		revoked   oda.RevocationList
		want      error // nil: verifies
	}
	base := func(c *chain) tc {
		return tc{c: c, cands: c.cands(), cert: c.issuer.Cert, remainder: c.issuer.Remainder, exponent: c.issuer.Exponent, pan: c.pan, date: txnDate}
	}
	with := func(name string, c *chain, want error, f func(*tc)) tc {
		x := base(c)
		x.name, x.want = name, want
		if f != nil {
			f(&x)
		}
		return x
	}
	cases := []tc{
		with("good visa with remainder", visa, nil, nil),
		with("good mastercard padded", mc, nil, nil),
		with("PAN with F padding", visa, nil, func(x *tc) { x.pan += "F" }),
		with("valid through end of expiry month", visa, nil, func(x *tc) {
			x.cert = novEnd.Cert
			x.date = time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC)
		}),
		with("expired day after expiry month", visa, oda.ErrExpired, func(x *tc) {
			x.cert = novEnd.Cert
			x.date = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		}),
		with("expired against txn date", visa, oda.ErrExpired, func(x *tc) { x.cert = expired.Cert }),
		with("expired cert fine on recorded older date", visa, nil, func(x *tc) {
			x.cert = expired.Cert
			x.date = time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)
		}),
		with("wrong header", visa, oda.ErrHeader, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[0] = 0x6B }, false) }),
		with("wrong trailer", visa, oda.ErrTrailer, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[n-1] = 0xBD }, false) }),
		with("wrong format", visa, oda.ErrFormat, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[1] = 0x04 }, true) }),
		with("hash result corrupted", visa, oda.ErrHash, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[n-2] ^= 1 }, false) }),
		with("serial changed without rehash", visa, oda.ErrHash, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[9] ^= 1 }, false) }),
		with("hash algorithm 02", visa, oda.ErrAlgorithm, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[11] = 2 }, true) }),
		with("key algorithm 02", visa, oda.ErrAlgorithm, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[12] = 2 }, true) }),
		with("issuer id mismatch", visa, oda.ErrIssuerID, func(x *tc) { x.cert = otherID.Cert }),
		with("issuer id not digits", visa, oda.ErrIssuerID, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[2] = 0x4A }, true) }),
		with("issuer id two digits", visa, oda.ErrIssuerID, func(x *tc) {
			x.cert = resignVisa(func(b []byte) { copy(b[2:6], []byte{0x47, 0xFF, 0xFF, 0xFF}) }, true)
		}),
		with("expiry month 13", visa, oda.ErrDate, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[6] = 0x13 }, true) }),
		with("revoked serial", visa, oda.ErrRevoked, func(x *tc) { x.revoked = revoked }),
		with("other serial revoked", visa, nil, func(x *tc) { x.revoked = otherRevoked }),
		with("wrong CA index: no key", visa, oda.ErrNoCAKey, func(x *tc) { x.cands = capk.Default().Candidates(visa.ca.RID[:], 0xE9, true) }),
		with("no candidates", visa, oda.ErrNoCAKey, func(x *tc) { x.cands = nil }),
		with("no candidate of certificate length", visa, oda.ErrNoCAKey, func(x *tc) { x.cands = mc.cands() }),
		// A wrong key recovers noise: value above its modulus, or bad
		// trailer/header (which one depends on the keys).
		with("wrong CA key of same length", visa, errWrongKey, func(x *tc) { x.cands = unionpay.cands() }),
		with("remainder missing", visa, oda.ErrRemainder, func(x *tc) { x.remainder = nil }),
		with("remainder too long", visa, oda.ErrRemainder, func(x *tc) { x.remainder = append(slices.Clone(x.remainder), 0) }),
		with("remainder altered", visa, oda.ErrHash, func(x *tc) {
			x.remainder = slices.Clone(x.remainder)
			x.remainder[0] ^= 0x80
		}),
		with("remainder where none belongs", mc, oda.ErrRemainder, func(x *tc) { x.remainder = []byte{1, 2, 3} }),
		with("exponent length differs", visa, oda.ErrRemainder, func(x *tc) { x.exponent = []byte{1, 0, 1} }),
		with("exponent value differs", visa, oda.ErrHash, func(x *tc) { x.exponent = []byte{5} }),
		with("PAN not digits", visa, oda.ErrInput, func(x *tc) { x.pan = "47617390A1010010" }),
		with("PAN empty", visa, oda.ErrInput, func(x *tc) { x.pan = "" }),
		with("no txn date", visa, oda.ErrInput, func(x *tc) { x.date = time.Time{} }),
		with("certificate truncated", visa, oda.ErrNoCAKey, func(x *tc) { x.cert = x.cert[:n-1] }),
		with("certificate above modulus", visa, oda.ErrLength, func(x *tc) { x.cert = bytes.Repeat([]byte{0xFF}, n) }),
	}
	for _, x := range cases {
		t.Run(x.name, func(t *testing.T) {
			got, err := oda.RecoverIssuerKey(x.cands, x.cert, x.remainder, x.exponent, x.pan, x.date, x.revoked)
			if x.want == nil {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				if !bytes.Equal(got.Modulus, x.c.issuer.Key.N.Bytes()) {
					t.Fatal("wrong issuer modulus")
				}
				return
			}
			if !isErr(err, x.want) {
				t.Fatalf("err = %v, want %v", err, x.want)
			}
			if got != nil {
				t.Error("key returned with an error")
			}
			noLeak(t, err, x.c)
		})
	}
}

func TestRecoverIssuerKeySecondCandidate(t *testing.T) {
	visa := newChain(t, "visa")
	up := newChain(t, "unionpay")
	if len(visa.ca.Key.N.Bytes()) != len(up.ca.Key.N.Bytes()) {
		t.Fatal("test needs two CA keys of the same length")
	}
	// Two live keys under the visa test RID/index, same length: the wrong
	// one first (as the reference list has for A000000004/05).
	decoy := up.ca.CAPK()
	decoy.RID, decoy.Index, decoy.Test = visa.ca.RID, visa.ca.Index, false
	right := visa.ca.CAPK()
	right.Test = false
	var l capk.List
	l.Add(decoy)
	l.Add(right)
	cands := l.Candidates(visa.ca.RID[:], visa.ca.Index, false)
	if len(cands) != 2 || !bytes.Equal(cands[1].Modulus, right.Modulus) {
		t.Fatalf("candidates = %v", cands)
	}
	ik, err := oda.RecoverIssuerKey(cands, visa.issuer.Cert, visa.issuer.Remainder, visa.issuer.Exponent, visa.pan, txnDate, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ik.CA.Modulus, right.Modulus) {
		t.Errorf("verified with %v, want the second candidate", ik.CA)
	}
	// Expired: the error must come from the real signer (second candidate),
	// not from the decoy's garbage recovery.
	k, _ := perso.TestIssuerKey("visa")
	old, err := visa.ca.NewIssuer(k, visa.issuerID, "0125", visa.serial)
	if err != nil {
		t.Fatal(err)
	}
	_, err = oda.RecoverIssuerKey(cands, old.Cert, old.Remainder, old.Exponent, visa.pan, txnDate, nil)
	var ce *oda.CheckError
	if !errors.Is(err, oda.ErrExpired) || !errors.As(err, &ce) || ce.Tried != 2 || ce.Key != right.String() {
		t.Fatalf("err = %v (%#v)", err, ce)
	}
}

func TestDefaultListTestKeys(t *testing.T) {
	for _, scheme := range perso.Schemes {
		t.Run(scheme, func(t *testing.T) {
			c := newChain(t, scheme)
			l := capk.Default()
			if cands := l.Candidates(c.ca.RID[:], c.ca.Index, false); len(cands) != 0 {
				t.Fatalf("test CA returned with allowTest=false: %v", cands)
			}
			_, err := oda.RecoverIssuerKey(l.Candidates(c.ca.RID[:], c.ca.Index, false), c.issuer.Cert, c.issuer.Remainder, c.issuer.Exponent, c.pan, txnDate, nil)
			if !errors.Is(err, oda.ErrNoCAKey) {
				t.Fatalf("err = %v, want ErrNoCAKey", err)
			}
			ik, err := oda.RecoverIssuerKey(l.Candidates(c.ca.RID[:], c.ca.Index, true), c.issuer.Cert, c.issuer.Remainder, c.issuer.Exponent, c.pan, txnDate, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !ik.CA.Test || ik.CA.Scheme != "posagent-test" {
				t.Errorf("CA = %+v", ik.CA.String())
			}
		})
	}
}

func TestRecoverICCKeyChecks(t *testing.T) {
	visa := newChain(t, "visa") // ICC key with remainder (1024 in 1152)
	mc := newChain(t, "mastercard")
	up := newChain(t, "unionpay") // 19-digit PAN
	n := len(visa.icc.Cert)
	ck, _ := perso.TestICCKey("visa")
	otherPAN, err := visa.issuer.NewICC(ck, "4761739001010028", "1228", visa.static)
	if err != nil {
		t.Fatal(err)
	}
	shortPAN, err := visa.issuer.NewICC(ck, "476173900101001", "1228", visa.static)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := visa.issuer.NewICC(ck, visa.pan, "0926", visa.static)
	if err != nil {
		t.Fatal(err)
	}
	resignVisa := func(mutate func(b []byte), rehash bool) []byte {
		return resign(t, visa.issuer.Key, visa.icc.Cert, mutate, rehash, visa.icc.Remainder, visa.icc.Exponent, visa.static)
	}
	type tc struct {
		name      string
		c         *chain
		issuer    oda.PublicKey
		cert      []byte
		remainder []byte
		exponent  []byte
		static    []byte
		pan       string
		want      error
	}
	with := func(name string, c *chain, want error, f func(*tc)) tc {
		x := tc{name: name, c: c, issuer: c.issuerPub(), cert: c.icc.Cert, remainder: c.icc.Remainder,
			exponent: c.icc.Exponent, static: c.static, pan: c.pan, want: want}
		if f != nil {
			f(&x)
		}
		return x
	}
	cases := []tc{
		with("good visa with remainder", visa, nil, nil),
		with("good mastercard e=65537", mc, nil, nil),
		with("good unionpay 19-digit PAN", up, nil, nil),
		with("19-digit PAN given with F", up, nil, func(x *tc) { x.pan += "F" }),
		with("PAN mismatch", visa, oda.ErrPANMismatch, func(x *tc) { x.cert = otherPAN.Cert }),
		with("PAN prefix only", visa, oda.ErrPANMismatch, func(x *tc) { x.cert = shortPAN.Cert }),
		with("card PAN longer than certificate", up, oda.ErrPANMismatch, func(x *tc) { x.pan = x.pan[:18] }),
		with("PAN not digits in certificate", visa, oda.ErrPANMismatch, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[3] = 0xA1 }, true) }),
		with("static data changed", visa, oda.ErrHash, func(x *tc) { x.static = append(slices.Clone(x.static), 0x00) }),
		with("static data missing", visa, oda.ErrHash, func(x *tc) { x.static = nil }),
		with("expired", visa, oda.ErrExpired, func(x *tc) { x.cert = expired.Cert }),
		with("wrong header", visa, oda.ErrHeader, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[0] = 0x6B }, false) }),
		with("wrong trailer", visa, oda.ErrTrailer, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[n-1] = 0xB0 }, false) }),
		with("issuer format 02", visa, oda.ErrFormat, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[1] = 0x02 }, true) }),
		with("hash algorithm", visa, oda.ErrAlgorithm, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[17] = 0x02 }, true) }),
		with("key algorithm", visa, oda.ErrAlgorithm, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[18] = 0x00 }, true) }),
		with("expiry not BCD", visa, oda.ErrDate, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[12] = 0x1A }, true) }),
		with("remainder missing", visa, oda.ErrRemainder, func(x *tc) { x.remainder = nil }),
		with("remainder altered", visa, oda.ErrHash, func(x *tc) {
			x.remainder = slices.Clone(x.remainder)
			x.remainder[3] ^= 1
		}),
		with("key length zero", visa, oda.ErrRemainder, func(x *tc) { x.cert = resignVisa(func(b []byte) { b[19] = 0 }, true) }),
		with("exponent length differs", visa, oda.ErrRemainder, func(x *tc) { x.exponent = []byte{1, 0, 1} }),
		with("wrong issuer key length", visa, oda.ErrLength, func(x *tc) { x.issuer = mc.issuerPub() }),
		with("issuer key too long", visa, oda.ErrKey, func(x *tc) { x.issuer.Modulus = bytes.Repeat([]byte{0xC1}, 249) }),
		with("issuer exponent empty", visa, oda.ErrKey, func(x *tc) { x.issuer.Exponent = nil }),
		with("issuer exponent zero", visa, oda.ErrKey, func(x *tc) { x.issuer.Exponent = []byte{0, 0} }),
		with("issuer modulus leading zero", visa, oda.ErrKey, func(x *tc) { x.issuer.Modulus = append([]byte{0}, x.issuer.Modulus...) }),
		with("certificate too short for the format", visa, oda.ErrLength, func(x *tc) {
			x.issuer = oda.PublicKey{Modulus: bytes.Repeat([]byte{0xFF}, 40), Exponent: []byte{3}}
			x.cert = make([]byte, 40)
		}),
	}
	for _, x := range cases {
		t.Run(x.name, func(t *testing.T) {
			got, err := oda.RecoverICCKey(x.issuer, x.cert, x.remainder, x.exponent, x.static, x.pan, txnDate)
			if x.want == nil {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				if !bytes.Equal(got.Modulus, x.c.icc.Key.N.Bytes()) {
					t.Fatal("wrong ICC modulus")
				}
				return
			}
			if !errors.Is(err, x.want) {
				t.Fatalf("err = %v, want %v", err, x.want)
			}
			noLeak(t, err, x.c)
		})
	}
}

func TestPANMismatchIsMasked(t *testing.T) {
	c := newChain(t, "visa")
	_, err := oda.RecoverICCKey(c.issuerPub(), c.icc.Cert, c.icc.Remainder, c.icc.Exponent, c.static, "4761739001019999", txnDate)
	if !errors.Is(err, oda.ErrPANMismatch) {
		t.Fatal(err)
	}
	want := "certificate PAN 476173******0010 does not match card PAN 476173******9999"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to contain %q", err, want)
	}
}

func TestVerifySDA(t *testing.T) {
	c := newChain(t, "mastercard")
	dac := [2]byte{0xDA, 0xC1}
	ssad, err := c.issuer.SignStaticData(dac, c.static)
	if err != nil {
		t.Fatal(err)
	}
	n := len(ssad)
	cases := []struct {
		name   string
		ssad   []byte
		static []byte
		key    oda.PublicKey
		want   error
	}{
		{"good", ssad, c.static, c.issuerPub(), nil},
		{"static data changed", ssad, append(slices.Clone(c.static), 1), c.issuerPub(), oda.ErrHash},
		{"DAC changed", resign(t, c.issuer.Key, ssad, func(b []byte) { b[3] = 0 }, false), c.static, c.issuerPub(), oda.ErrHash},
		{"format 05", resign(t, c.issuer.Key, ssad, func(b []byte) { b[1] = 5 }, true, c.static), c.static, c.issuerPub(), oda.ErrFormat},
		{"hash algorithm", resign(t, c.issuer.Key, ssad, func(b []byte) { b[2] = 2 }, true, c.static), c.static, c.issuerPub(), oda.ErrAlgorithm},
		{"header", resign(t, c.issuer.Key, ssad, func(b []byte) { b[0] = 0x4A }, false), c.static, c.issuerPub(), oda.ErrHeader},
		{"trailer", resign(t, c.issuer.Key, ssad, func(b []byte) { b[n-1] = 0xBB }, false), c.static, c.issuerPub(), oda.ErrTrailer},
		{"wrong key", ssad, c.static, oda.PublicKey{Modulus: c.ca.Key.N.Bytes()[:n], Exponent: []byte{3}}, errWrongKey},
		{"truncated", ssad[1:], c.static, c.issuerPub(), oda.ErrLength},
	}
	for _, x := range cases {
		t.Run(x.name, func(t *testing.T) {
			got, err := oda.VerifySDA(x.key, x.ssad, x.static)
			if !isErr(err, x.want) {
				t.Fatalf("err = %v, want %v", err, x.want)
			}
			if x.want == nil && got != dac {
				t.Errorf("DAC = %X, want %X", got, dac)
			}
		})
	}
}

func TestVerifyDDAAndFDDA(t *testing.T) {
	c := newChain(t, "visa")
	num := []byte{0x11, 0x22, 0x33, 0x44}
	un := []byte{0xDE, 0xAD, 0xBE, 0xEF}
	amount := []byte{0, 0, 0, 0, 0x12, 0x50}
	cur := []byte{0x09, 0x78}
	cad := []byte{0x01, 0x9A, 0xBC, 0xDE, 0xF0}
	ddol := []byte{0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02}
	sign := func(data []byte) []byte {
		s, err := c.icc.SignDynamic(num, data)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dda := sign(ddol)
	fdda01 := sign(oda.FDDAData(un, amount, cur, cad))
	fdda00 := sign(un)
	n := len(dda)
	type tc struct {
		name string
		run  func() ([]byte, error)
		want error
	}
	ddaCase := func(name string, sig, data []byte, want error) tc {
		return tc{name, func() ([]byte, error) { return oda.VerifyDDA(c.iccPub(), sig, data) }, want}
	}
	fddaCase := func(name string, sig, u, a, cu, cd []byte, want error) tc {
		return tc{name, func() ([]byte, error) { return oda.VerifyFDDA(c.iccPub(), sig, u, a, cu, cd) }, want}
	}
	cases := []tc{
		ddaCase("DDA good", dda, ddol, nil),
		ddaCase("DDA other DDOL data", dda, ddol[:5], oda.ErrHash),
		ddaCase("DDA format 03", resign(t, c.icc.Key, dda, func(b []byte) { b[1] = 3 }, true, ddol), ddol, oda.ErrFormat),
		ddaCase("DDA dynamic number length 1", resign(t, c.icc.Key, dda, func(b []byte) { b[4] = 1 }, true, ddol), ddol, oda.ErrDynamicData),
		ddaCase("DDA dynamic number beyond data", resign(t, c.icc.Key, dda, func(b []byte) { b[4] = 8 }, true, ddol), ddol, oda.ErrDynamicData),
		ddaCase("DDA dynamic data length beyond block", resign(t, c.icc.Key, dda, func(b []byte) { b[3] = byte(n - 24) }, true, ddol), ddol, oda.ErrDynamicData),
		ddaCase("DDA trailer", resign(t, c.icc.Key, dda, func(b []byte) { b[n-1] = 0 }, false), ddol, oda.ErrTrailer),
		ddaCase("DDA wrong length", append(slices.Clone(dda), 0), ddol, oda.ErrLength),
		fddaCase("fDDA 01 good", fdda01, un, amount, cur, cad, nil),
		fddaCase("fDDA 01 other amount", fdda01, un, []byte{0, 0, 0, 0, 0x12, 0x51}, cur, cad, oda.ErrHash),
		fddaCase("fDDA 01 other currency", fdda01, un, amount, []byte{0x08, 0x26}, cad, oda.ErrHash),
		fddaCase("fDDA 01 other UN", fdda01, []byte{0xDE, 0xAD, 0xBE, 0xEE}, amount, cur, cad, oda.ErrHash),
		fddaCase("fDDA 01 card data dropped", fdda01, un, amount, cur, nil, oda.ErrHash),
		fddaCase("fDDA 00 good", fdda00, un, amount, cur, nil, nil),
		fddaCase("fDDA 00 amount ignored", fdda00, un, nil, nil, nil, nil),
		fddaCase("fDDA UN 3 bytes", fdda00, un[:3], nil, nil, nil, oda.ErrInput),
		fddaCase("fDDA 01 short amount", fdda01, un, amount[:5], cur, cad, oda.ErrInput),
	}
	for _, x := range cases {
		t.Run(x.name, func(t *testing.T) {
			got, err := x.run()
			if !errors.Is(err, x.want) {
				t.Fatalf("err = %v, want %v", err, x.want)
			}
			if x.want == nil && !bytes.Equal(got, num) {
				t.Errorf("ICC dynamic number = %X, want %X", got, num)
			}
		})
	}
}

func TestVerifyCDA(t *testing.T) {
	c := newChain(t, "mastercard")
	num := []byte{0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18}
	un := []byte{0x01, 0x02, 0x03, 0x04}
	pdol := []byte{0x36, 0x20, 0x40, 0x00}
	cdol := []byte{0, 0, 0, 0, 0x10, 0x00, 0, 0, 0, 0, 0, 0, 0x09, 0x78, 0x26, 0x11, 0x25, 0x00, 0x01, 0x02, 0x03, 0x04}
	ac := [8]byte{0xAC, 1, 2, 3, 4, 5, 6, 7}
	// response TLVs without 9F4B: CID, ATC
	resp := []byte{0x9F, 0x27, 0x01, 0x80, 0x9F, 0x36, 0x02, 0x00, 0x2A}
	sdad, err := c.icc.SignCDA(num, 0x80, ac, oda.TransactionDataHash(pdol, cdol, resp), un)
	if err != nil {
		t.Fatal(err)
	}
	otherResp := slices.Clone(resp)
	otherResp[8] = 0x2B
	cases := []struct {
		name             string
		sdad, un         []byte
		cid              byte
		pdol, cdol, resp []byte
		want             error
	}{
		{"good", sdad, un, 0x80, pdol, cdol, resp, nil},
		{"CID differs (TC in response)", sdad, un, 0x40, pdol, cdol, resp, oda.ErrCID},
		{"UN differs", sdad, []byte{1, 2, 3, 5}, 0x80, pdol, cdol, resp, oda.ErrHash},
		{"CDOL data differs", sdad, un, 0x80, pdol, cdol[1:], resp, oda.ErrTxnHash},
		{"PDOL data differs", sdad, un, 0x80, nil, cdol, resp, oda.ErrTxnHash},
		{"response data differs", sdad, un, 0x80, pdol, cdol, otherResp, oda.ErrTxnHash},
		{"UN missing", sdad, nil, 0x80, pdol, cdol, resp, oda.ErrInput},
		{"dynamic data too short for CDA", resign(t, c.icc.Key, sdad, func(b []byte) { b[3] = 20 }, true, un), un, 0x80, pdol, cdol, resp, oda.ErrDynamicData},
		{"header", resign(t, c.icc.Key, sdad, func(b []byte) { b[0] = 0 }, false), un, 0x80, pdol, cdol, resp, oda.ErrHeader},
	}
	for _, x := range cases {
		t.Run(x.name, func(t *testing.T) {
			gotAC, gotNum, err := oda.VerifyCDA(c.iccPub(), x.sdad, x.un, x.cid, x.pdol, x.cdol, x.resp)
			if !errors.Is(err, x.want) {
				t.Fatalf("err = %v, want %v", err, x.want)
			}
			if x.want == nil && (!bytes.Equal(gotAC, ac[:]) || !bytes.Equal(gotNum, num)) {
				t.Errorf("AC %X num %X", gotAC, gotNum)
			}
		})
	}
}

func TestRevocationList(t *testing.T) {
	rid := [5]byte{0xA0, 0, 0, 0, 4}
	l := oda.RevocationList{{RID: rid, Index: 0x05, Serial: [3]byte{1, 2, 3}}}
	cases := []struct {
		name   string
		rid    []byte
		index  byte
		serial []byte
		want   bool
	}{
		{"listed", rid[:], 5, []byte{1, 2, 3}, true},
		{"other index", rid[:], 6, []byte{1, 2, 3}, false},
		{"other serial", rid[:], 5, []byte{1, 2, 4}, false},
		{"other RID", []byte{0xA0, 0, 0, 0, 3}, 5, []byte{1, 2, 3}, false},
		{"short RID", rid[:4], 5, []byte{1, 2, 3}, false},
		{"short serial", rid[:], 5, []byte{1, 2}, false},
	}
	for _, x := range cases {
		t.Run(x.name, func(t *testing.T) {
			if got := l.Contains(x.rid, x.index, x.serial); got != x.want {
				t.Errorf("Contains = %v", got)
			}
		})
	}
	if oda.RevocationList(nil).Contains(rid[:], 5, []byte{1, 2, 3}) {
		t.Error("nil list revokes")
	}
}

// Keys that would make math/big misbehave (modulus 0 or 1: Exp without
// reduction or a division by zero; huge exponents: slow) are refused before
// any arithmetic.
func TestHostileKeys(t *testing.T) {
	cases := []struct {
		name     string
		mod, exp []byte
		sig      []byte
		want     error
	}{
		{"modulus zero byte", []byte{0}, []byte{3}, []byte{0}, oda.ErrKey},
		{"modulus one", []byte{1}, []byte{3}, []byte{0}, oda.ErrKey},
		{"modulus empty", nil, []byte{3}, nil, oda.ErrKey},
		{"modulus 249 bytes", bytes.Repeat([]byte{0xFF}, 249), []byte{3}, make([]byte, 249), oda.ErrKey},
		{"exponent 4 bytes", bytes.Repeat([]byte{0xFF}, 128), []byte{1, 0, 0, 1}, make([]byte, 128), oda.ErrKey},
		{"exponent 248 bytes", bytes.Repeat([]byte{0xFF}, 248), bytes.Repeat([]byte{0xFF}, 248), make([]byte, 248), oda.ErrKey},
		{"exponent zero", bytes.Repeat([]byte{0xFF}, 128), []byte{0}, make([]byte, 128), oda.ErrKey},
		{"even modulus, tiny", []byte{2}, []byte{3}, []byte{1}, oda.ErrLength},
		{"signature equal to modulus", bytes.Repeat([]byte{0xFF}, 64), []byte{3}, bytes.Repeat([]byte{0xFF}, 64), oda.ErrLength},
		{"zero signature", bytes.Repeat([]byte{0xFF}, 64), []byte{3}, make([]byte, 64), oda.ErrTrailer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := oda.RecoverIssuerKey([]capk.Key{{Modulus: c.mod, Exponent: c.exp}}, c.sig, nil, []byte{3}, "4761739001010010", txnDate, nil)
			if !errors.Is(err, c.want) {
				t.Errorf("RecoverIssuerKey: err = %v, want %v", err, c.want)
			}
			k := oda.PublicKey{Modulus: c.mod, Exponent: c.exp}
			if _, err := oda.VerifyDDA(k, c.sig, nil); !errors.Is(err, c.want) {
				t.Errorf("VerifyDDA: err = %v, want %v", err, c.want)
			}
		})
	}
}
