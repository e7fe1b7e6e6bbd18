package oda_test

import (
	"math/big"
	"testing"

	"posagent/emv/oda"
)

// The chain benchmarked: UnionPay test keys, CA 1408-bit (e=3) -> issuer
// 1408-bit (e=65537) -> ICC 1024-bit (e=3), fDDA version 01.
func benchChain(b *testing.B) (*chain, []byte, [4][]byte) {
	c := newChain(b, "unionpay")
	td := [4][]byte{{1, 2, 3, 4}, {0, 0, 0, 0, 0x25, 0}, {0x01, 0x56}, {0x01, 0x00, 0x00, 0x00, 0x00}}
	sdad, err := c.icc.SignDynamic([]byte{1, 2, 3, 4, 5, 6, 7, 8}, oda.FDDAData(td[0], td[1], td[2], td[3]))
	if err != nil {
		b.Fatal(err)
	}
	return c, sdad, td
}

// BenchmarkIssuerICCChain: RecoverIssuerKey + RecoverICCKey + VerifyFDDA.
// Compare with BenchmarkRawRSAPublic (the three bare exponentiations).
func BenchmarkIssuerICCChain(b *testing.B) {
	c, sdad, td := benchChain(b)
	cands := c.cands()
	b.ReportAllocs()
	for b.Loop() {
		ik, err := oda.RecoverIssuerKey(cands, c.issuer.Cert, c.issuer.Remainder, c.issuer.Exponent, c.pan, txnDate, nil)
		if err != nil {
			b.Fatal(err)
		}
		icc, err := oda.RecoverICCKey(ik.PublicKey, c.icc.Cert, c.icc.Remainder, c.icc.Exponent, c.static, c.pan, txnDate)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := oda.VerifyFDDA(*icc, sdad, td[0], td[1], td[2], td[3]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawRSAPublic is the baseline: the same three public-key
// operations (same moduli, exponents and inputs) as one big.Int Exp each.
func BenchmarkRawRSAPublic(b *testing.B) {
	c, sdad, _ := benchChain(b)
	type op struct{ n, e, s *big.Int }
	ops := []op{
		{c.ca.Key.N, big.NewInt(int64(c.ca.Key.E)), new(big.Int).SetBytes(c.issuer.Cert)},
		{c.issuer.Key.N, big.NewInt(int64(c.issuer.Key.E)), new(big.Int).SetBytes(c.icc.Cert)},
		{c.icc.Key.N, big.NewInt(int64(c.icc.Key.E)), new(big.Int).SetBytes(sdad)},
	}
	b.ReportAllocs()
	var z big.Int
	for b.Loop() {
		for _, o := range ops {
			z.Exp(o.s, o.e, o.n)
		}
	}
}
