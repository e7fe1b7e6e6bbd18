package oda_test

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"testing"

	"posagent/emv/capk"
	"posagent/emv/cardsim/perso"
	"posagent/emv/oda"
)

// mustCheckError: every failure must be a *CheckError with a sentinel.
func mustCheckError(t *testing.T, err error) {
	t.Helper()
	var ce *oda.CheckError
	if !errors.As(err, &ce) || ce.Err == nil {
		t.Fatalf("error %v is not a *CheckError with a sentinel", err)
	}
}

// FuzzRecoverIssuerKey feeds arbitrary CA keys and certificate bytes.
func FuzzRecoverIssuerKey(f *testing.F) {
	c := newChain(f, "visa")
	ca := c.ca.CAPK()
	f.Add(ca.Modulus, ca.Exponent, c.issuer.Cert, c.issuer.Remainder, c.issuer.Exponent, c.pan)
	f.Add([]byte{0}, []byte{3}, []byte{0}, []byte(nil), []byte{3}, "1")
	f.Add([]byte{1}, []byte{}, []byte{0}, []byte(nil), []byte{3}, "12345678")
	f.Add(bytes.Repeat([]byte{0xFF}, 249), []byte{1, 0, 1}, bytes.Repeat([]byte{0x01}, 249), []byte{}, []byte{}, "")
	f.Fuzz(func(t *testing.T, mod, caExp, cert, rem, exp []byte, pan string) {
		cands := []capk.Key{{Modulus: mod, Exponent: caExp}}
		ik, err := oda.RecoverIssuerKey(cands, cert, rem, exp, pan, txnDate, nil)
		if err != nil {
			mustCheckError(t, err)
			return
		}
		if len(ik.Modulus) == 0 || len(ik.Modulus) > oda.MaxModulusLen || len(ik.Serial) != 3 {
			t.Fatalf("implausible key: %d-byte modulus, serial %X", len(ik.Modulus), ik.Serial)
		}
	})
}

// FuzzRecoverICCKey feeds arbitrary issuer keys and certificate bytes.
func FuzzRecoverICCKey(f *testing.F) {
	c := newChain(f, "visa")
	f.Add(c.issuer.Key.N.Bytes(), c.issuer.Exponent, c.icc.Cert, c.icc.Remainder, c.icc.Exponent, c.static, c.pan)
	f.Add([]byte{2}, []byte{3}, []byte{1}, []byte(nil), []byte{3}, []byte(nil), "1")
	f.Fuzz(func(t *testing.T, mod, iexp, cert, rem, exp, static []byte, pan string) {
		k, err := oda.RecoverICCKey(oda.PublicKey{Modulus: mod, Exponent: iexp}, cert, rem, exp, static, pan, txnDate)
		if err != nil {
			mustCheckError(t, err)
			return
		}
		if len(k.Modulus) == 0 || len(k.Modulus) > oda.MaxModulusLen {
			t.Fatalf("implausible key: %d-byte modulus", len(k.Modulus))
		}
	})
}

// FuzzVerifyDDA feeds arbitrary ICC keys and signatures to the DDA, fDDA,
// SDA and CDA verifiers.
func FuzzVerifyDDA(f *testing.F) {
	c := newChain(f, "visa")
	un := []byte{1, 2, 3, 4}
	sdad, err := c.icc.SignDynamic([]byte{9, 9, 9, 9}, un)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c.icc.Key.N.Bytes(), c.icc.Exponent, sdad, un)
	f.Add([]byte{0xC3}, []byte{3}, []byte{0x10}, []byte(nil))
	f.Fuzz(func(t *testing.T, mod, exp, sig, data []byte) {
		k := oda.PublicKey{Modulus: mod, Exponent: exp}
		if num, err := oda.VerifyDDA(k, sig, data); err != nil {
			mustCheckError(t, err)
		} else if len(num) < 2 || len(num) > 8 {
			t.Fatalf("ICC dynamic number of %d bytes", len(num))
		}
		if _, err := oda.VerifyFDDA(k, sig, data, data, data, data); err != nil {
			mustCheckError(t, err)
		}
		if _, err := oda.VerifySDA(k, sig, data); err != nil {
			mustCheckError(t, err)
		}
		if ac, num, err := oda.VerifyCDA(k, sig, data, 0x80, data, data, data); err != nil {
			mustCheckError(t, err)
		} else if len(ac) != 8 || len(num) < 2 {
			t.Fatalf("AC %d bytes, number %d bytes", len(ac), len(num))
		}
	})
}

// FuzzRecoveredContent signs arbitrary recovered blocks with the real test
// keys, so the parsers behind the signature (header, lengths, remainder,
// dates, dynamic data) see hostile content; with rehash set the hash is made
// right so the checks after it are reached too.
func FuzzRecoveredContent(f *testing.F) {
	c := newChain(f, "visa")
	ca := c.ca.CAPK()
	f.Add(uint8(0), open(c.ca.Key, c.issuer.Cert), c.issuer.Remainder, c.issuer.Exponent, true)
	f.Add(uint8(1), open(c.issuer.Key, c.icc.Cert), c.icc.Remainder, c.icc.Exponent, true)
	f.Add(uint8(2), []byte{0x6A, 0x05, 0x01, 0xFF}, []byte(nil), []byte{1, 2, 3, 4}, true)
	f.Add(uint8(3), []byte{0x6A, 0x05, 0x01, 0x09, 0x02}, []byte(nil), []byte{1, 2, 3, 4}, false)
	f.Fuzz(func(t *testing.T, kind uint8, block, rem, exp []byte, rehash bool) {
		kind %= 4
		key := c.ca.Key
		switch kind {
		case 1:
			key = c.issuer.Key
		case 2, 3:
			key = c.icc.Key
		}
		n := (key.N.BitLen() + 7) / 8
		b := make([]byte, n)
		copy(b, block)
		b[0] &= 0x7F // below the modulus (top bit set)
		if rehash && n > 22 {
			h := sha1.New()
			h.Write(b[1 : n-21])
			switch kind {
			case 0:
				h.Write(rem)
				h.Write(exp)
			case 1:
				h.Write(rem)
				h.Write(exp)
				h.Write(c.static)
			default:
				h.Write(exp)
			}
			copy(b[n-21:n-1], h.Sum(nil))
			b[n-1] = 0xBC
		}
		sig, err := perso.Sign(key, b)
		if err != nil {
			t.Fatal(err)
		}
		switch kind {
		case 0:
			_, err = oda.RecoverIssuerKey([]capk.Key{ca}, sig, rem, exp, c.pan, txnDate, nil)
		case 1:
			_, err = oda.RecoverICCKey(c.issuerPub(), sig, rem, exp, c.static, c.pan, txnDate)
		case 2:
			_, err = oda.VerifyDDA(c.iccPub(), sig, exp)
		case 3:
			_, _, err = oda.VerifyCDA(c.iccPub(), sig, exp, 0x80, rem, nil, nil)
		}
		if err != nil {
			mustCheckError(t, err)
		}
	})
}
