package oda

import (
	"crypto/sha1"
	"math/big"
)

// MaxModulusLen is the longest modulus EMV allows (1984 bits).
const MaxModulusLen = 248

// PublicKey is an RSA public key as EMV carries it: big-endian modulus and
// exponent bytes.
type PublicKey struct {
	Modulus, Exponent []byte
}

// check validates the key before any arithmetic, so hostile bytes cannot
// make the modular exponentiation expensive or undefined.
func (k PublicKey) check(step string) *CheckError {
	switch {
	case len(k.Modulus) == 0 || len(k.Modulus) > MaxModulusLen:
		return fail(step, ErrKey, "modulus is %d bytes, want 1..%d", len(k.Modulus), MaxModulusLen)
	case k.Modulus[0] == 0:
		return fail(step, ErrKey, "modulus has a leading zero byte")
	case len(k.Modulus) == 1 && k.Modulus[0] < 2:
		return fail(step, ErrKey, "modulus below 2")
	case len(k.Exponent) == 0 || len(k.Exponent) > 3:
		return fail(step, ErrKey, "exponent is %d bytes, want 1..3", len(k.Exponent))
	}
	for _, b := range k.Exponent {
		if b != 0 {
			return nil
		}
	}
	return fail(step, ErrKey, "exponent is zero")
}

// recoverData applies the RSA public operation to sig, which must be as long
// as the modulus and numerically below it. The result has the modulus
// length.
func recoverData(k PublicKey, sig []byte, step string) ([]byte, *CheckError) {
	if ce := k.check(step); ce != nil {
		return nil, ce
	}
	if len(sig) != len(k.Modulus) {
		return nil, fail(step, ErrLength, "is %d bytes, key modulus %d", len(sig), len(k.Modulus))
	}
	n := new(big.Int).SetBytes(k.Modulus)
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(n) >= 0 {
		return nil, fail(step, ErrLength, "value is not below the modulus")
	}
	e := new(big.Int).SetBytes(k.Exponent)
	out := make([]byte, len(k.Modulus))
	return s.Exp(s, e, n).FillBytes(out), nil
}

// sha1Of hashes the concatenation of parts.
func sha1Of(parts ...[]byte) [20]byte {
	h := sha1.New()
	for _, p := range parts {
		h.Write(p)
	}
	var sum [20]byte
	copy(sum[:], h.Sum(nil))
	return sum
}
