package perso_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"testing"

	"posagent/emv/cardsim/perso"
)

// BenchmarkSignCDA: one CDA signature with the 1024-bit Mastercard test ICC
// key (what a software card does per GENERATE AC). Peer:
// BenchmarkStdlibRSASignPKCS1 (crypto/rsa private operation, same key).
func BenchmarkSignCDA(b *testing.B) {
	k, err := perso.TestICCKey("mastercard")
	if err != nil {
		b.Fatal(err)
	}
	icc := &perso.ICC{Key: k}
	un := []byte{1, 2, 3, 4}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := icc.SignCDA([]byte{1, 2, 3, 4, 5, 6, 7, 8}, 0x80, [8]byte{1}, [20]byte{2}, un); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStdlibRSASignPKCS1 is the peer: crypto/rsa PKCS#1 v1.5 signing
// with the same key.
func BenchmarkStdlibRSASignPKCS1(b *testing.B) {
	k, err := perso.TestICCKey("mastercard")
	if err != nil {
		b.Fatal(err)
	}
	h := sha1.Sum([]byte("transaction"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA1, h[:]); err != nil {
			b.Fatal(err)
		}
	}
}
