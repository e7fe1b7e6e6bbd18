package perso_test

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"posagent/emv/capk"
	"posagent/emv/cardsim/perso"
)

func mustKeys(t *testing.T, scheme string) (*perso.CA, *rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	ca, err := perso.TestCA(scheme)
	if err != nil {
		t.Fatal(err)
	}
	ik, err := perso.TestIssuerKey(scheme)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := perso.TestICCKey(scheme)
	if err != nil {
		t.Fatal(err)
	}
	return ca, ik, ck
}

func TestTestKeys(t *testing.T) {
	cases := []struct {
		scheme                string
		rid                   string
		index                 byte
		caBits, isBits, icBit int
		remainder             int // issuer certificate remainder bytes
	}{
		{"visa", "A000000003", 0xE1, 1408, 1152, 1024, 4},
		{"mastercard", "A000000004", 0xE2, 1984, 1408, 1024, 0},
		{"unionpay", "A000000333", 0xE3, 1408, 1408, 1024, 36},
	}
	def := capk.Default()
	for _, c := range cases {
		t.Run(c.scheme, func(t *testing.T) {
			ca, ik, ck := mustKeys(t, c.scheme)
			if got := fmt.Sprintf("%X", ca.RID[:]); got != c.rid || ca.Index != c.index {
				t.Errorf("CA %s/%02X", got, ca.Index)
			}
			for _, k := range []struct {
				key  *rsa.PrivateKey
				bits int
			}{{ca.Key, c.caBits}, {ik, c.isBits}, {ck, c.icBit}} {
				if k.key.N.BitLen() != k.bits || (k.key.E != 3 && k.key.E != 65537) {
					t.Errorf("key %d bits e=%d, want %d bits", k.key.N.BitLen(), k.key.E, k.bits)
				}
				if err := k.key.Validate(); err != nil {
					t.Error(err)
				}
			}
			// The default CA list has this CA, flagged test, and nothing
			// else at its RID/index.
			pub := ca.CAPK()
			if !pub.Test || pub.Scheme != "posagent-test" {
				t.Errorf("CAPK %+v", pub.String())
			}
			if got := def.Candidates(pub.RID[:], pub.Index, false); len(got) != 0 {
				t.Errorf("live candidates at test CA index: %v", got)
			}
			got := def.Candidates(pub.RID[:], pub.Index, true)
			if len(got) != 1 || !bytes.Equal(got[0].Modulus, pub.Modulus) || !bytes.Equal(got[0].Exponent, pub.Exponent) || !got[0].Test {
				t.Fatalf("default list candidates %v, want exactly the test CA", got)
			}
			is, err := ca.NewIssuer(ik, "123", "1230", [3]byte{1, 2, 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(is.Remainder) != c.remainder || len(is.Cert) != c.caBits/8 {
				t.Errorf("issuer cert %d bytes, remainder %d", len(is.Cert), len(is.Remainder))
			}
		})
	}
	if _, err := perso.TestCA("amex"); !errors.Is(err, perso.ErrInput) {
		t.Errorf("unknown scheme: %v", err)
	}
}

func TestInputErrors(t *testing.T) {
	ca, ik, ck := mustKeys(t, "visa")
	bigCA, _, _ := mustKeys(t, "mastercard")
	is, err := ca.NewIssuer(ik, "476173", "1229", [3]byte{})
	if err != nil {
		t.Fatal(err)
	}
	icc, err := is.NewICC(ck, "4761739001010010", "1228", nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"issuer id too short", func() error { _, err := ca.NewIssuer(ik, "47", "1229", [3]byte{}); return err }, perso.ErrInput},
		{"issuer id too long", func() error { _, err := ca.NewIssuer(ik, "476173901", "1229", [3]byte{}); return err }, perso.ErrInput},
		{"issuer id not digits", func() error { _, err := ca.NewIssuer(ik, "47A1", "1229", [3]byte{}); return err }, perso.ErrInput},
		{"expiry month 13", func() error { _, err := ca.NewIssuer(ik, "476173", "1329", [3]byte{}); return err }, perso.ErrInput},
		{"expiry month 00", func() error { _, err := ca.NewIssuer(ik, "476173", "0029", [3]byte{}); return err }, perso.ErrInput},
		{"expiry YYMM length", func() error { _, err := ca.NewIssuer(ik, "476173", "291", [3]byte{}); return err }, perso.ErrInput},
		{"issuer key longer than CA", func() error { _, err := ca.NewIssuer(bigCA.Key, "476173", "1229", [3]byte{}); return err }, perso.ErrKey},
		{"nil issuer key", func() error { _, err := ca.NewIssuer(nil, "476173", "1229", [3]byte{}); return err }, perso.ErrKey},
		{"ICC PAN not digits", func() error { _, err := is.NewICC(ck, "4761F39001010010", "1228", nil); return err }, perso.ErrInput},
		{"ICC PAN 20 digits", func() error { _, err := is.NewICC(ck, "47617390010100101234", "1228", nil); return err }, perso.ErrInput},
		{"ICC key longer than issuer", func() error { _, err := is.NewICC(bigCA.Key, "4761739001010010", "1228", nil); return err }, perso.ErrKey},
		{"dynamic number 1 byte", func() error { _, err := icc.SignDynamic([]byte{1}, nil); return err }, perso.ErrInput},
		{"dynamic number 9 bytes", func() error { _, err := icc.SignDynamic(make([]byte, 9), nil); return err }, perso.ErrInput},
		{"CDA UN 3 bytes", func() error {
			_, err := icc.SignCDA([]byte{1, 2}, 0x80, [8]byte{}, [20]byte{}, []byte{1, 2, 3})
			return err
		}, perso.ErrInput},
		{"Sign block too long", func() error { _, err := perso.Sign(ck, make([]byte, 129)); return err }, perso.ErrTooLong},
		{"Sign block above modulus", func() error { _, err := perso.Sign(ck, bytes.Repeat([]byte{0xFF}, 128)); return err }, perso.ErrKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.run(); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// Sign is the raw private operation: the public operation undoes it, for
// both exponents in use.
func TestSignIsRawRSA(t *testing.T) {
	for _, scheme := range perso.Schemes {
		_, ik, ck := mustKeys(t, scheme)
		for _, k := range []*rsa.PrivateKey{ik, ck} {
			block := bytes.Repeat([]byte{0x6A, 0xBB}, k.Size()/2)
			sig, err := perso.Sign(k, block)
			if err != nil {
				t.Fatal(err)
			}
			m := new(big.Int).Exp(new(big.Int).SetBytes(sig), big.NewInt(int64(k.E)), k.N)
			if !bytes.Equal(m.FillBytes(make([]byte, k.Size())), block) {
				t.Errorf("%s %d-bit: public op does not give the block back", scheme, k.N.BitLen())
			}
			// No Precomputed values: same signature.
			bare := &rsa.PrivateKey{PublicKey: k.PublicKey, D: k.D, Primes: k.Primes}
			sig2, err := perso.Sign(bare, block)
			if err != nil || !bytes.Equal(sig, sig2) {
				t.Errorf("signature without precomputation differs: %v", err)
			}
		}
	}
}
