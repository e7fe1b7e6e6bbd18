package oda_test

import (
	"crypto/rsa"
	"crypto/sha1"
	"math/big"
	"testing"
	"time"

	"posagent/emv/capk"
	"posagent/emv/cardsim/perso"
	"posagent/emv/oda"
)

// txnDate is the transaction date of every test unless a case says
// otherwise.
var txnDate = time.Date(2026, time.November, 25, 14, 30, 0, 0, time.UTC)

// chain is a personalised software card of one scheme: test CA, issuer and
// ICC keys with their certificates.
type chain struct {
	scheme   string
	ca       *perso.CA
	issuer   *perso.Issuer
	icc      *perso.ICC
	issuerID string
	pan      string
	static   []byte
	serial   [3]byte
}

// Test PANs per scheme; the UnionPay one has 19 digits (odd: F padded).
var testPANs = map[string][2]string{
	"visa":       {"476173", "4761739001010010"},
	"mastercard": {"541333", "5413330089010012"},
	"unionpay":   {"62123456", "6212345678901234563"},
}

func newChain(tb testing.TB, scheme string) *chain {
	tb.Helper()
	ca, err := perso.TestCA(scheme)
	if err != nil {
		tb.Fatal(err)
	}
	ik, err := perso.TestIssuerKey(scheme)
	if err != nil {
		tb.Fatal(err)
	}
	ck, err := perso.TestICCKey(scheme)
	if err != nil {
		tb.Fatal(err)
	}
	c := &chain{scheme: scheme, ca: ca, issuerID: testPANs[scheme][0], pan: testPANs[scheme][1],
		serial: [3]byte{0x12, 0x34, 0x56},
		static: []byte{0x5A, 0x08, 0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10, 0x5F, 0x24, 0x03, 0x28, 0x12, 0x31, 0x82, 0x02, 0x39, 0x00}}
	if c.issuer, err = ca.NewIssuer(ik, c.issuerID, "1229", c.serial); err != nil {
		tb.Fatal(err)
	}
	if c.icc, err = c.issuer.NewICC(ck, c.pan, "1228", c.static); err != nil {
		tb.Fatal(err)
	}
	return c
}

func (c *chain) cands() []capk.Key { return []capk.Key{c.ca.CAPK()} }

func (c *chain) issuerPub() oda.PublicKey {
	return oda.PublicKey{Modulus: c.issuer.Key.N.Bytes(), Exponent: c.issuer.Exponent}
}

func (c *chain) iccPub() oda.PublicKey {
	return oda.PublicKey{Modulus: c.icc.Key.N.Bytes(), Exponent: c.icc.Exponent}
}

// open applies the public operation of key to sig (test-side recovery).
func open(key *rsa.PrivateKey, sig []byte) []byte {
	s := new(big.Int).SetBytes(sig)
	s.Exp(s, big.NewInt(int64(key.E)), key.N)
	return s.FillBytes(make([]byte, len(sig)))
}

// resign recovers sig, lets mutate change the block, optionally recomputes
// the hash field over block[1:n-21] | extra..., and signs it again: a
// certificate or signature that is well signed but wrong inside.
func resign(tb testing.TB, key *rsa.PrivateKey, sig []byte, mutate func(b []byte), rehash bool, extra ...[]byte) []byte {
	tb.Helper()
	b := open(key, sig)
	mutate(b)
	if rehash {
		n := len(b)
		h := sha1.New()
		h.Write(b[1 : n-21])
		for _, e := range extra {
			h.Write(e)
		}
		copy(b[n-21:n-1], h.Sum(nil))
	}
	out, err := perso.Sign(key, b)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
