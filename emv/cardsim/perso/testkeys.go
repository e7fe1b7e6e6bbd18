package perso

import (
	"crypto/rsa"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"encoding/pem"
	"fmt"
)

// testKeys holds the committed TEST-ONLY keys (testkeys/TEST-ONLY-*.pem,
// written by internal/genkeys). They are public: they personalise the
// posagent software cards and must never sign anything for live money.
//
//go:embed testkeys/*.pem
var testKeys embed.FS

// Schemes with committed test keys.
var Schemes = []string{"visa", "mastercard", "unionpay"}

// TestCA returns the TEST-ONLY certification authority of scheme ("visa",
// "mastercard", "unionpay"): RID of the scheme, a CA index no live or scheme
// test key uses (E1, E2, E3). Its public key is in capk.Default() flagged
// Test, so terminals verify the software cards only when test keys are
// allowed.
func TestCA(scheme string) (*CA, error) {
	key, hdr, err := loadTestKey(scheme, "ca")
	if err != nil {
		return nil, err
	}
	rid, err := hex.DecodeString(hdr["RID"])
	if err != nil || len(rid) != 5 {
		return nil, fmt.Errorf("perso: test CA %s: bad RID header", scheme)
	}
	idx, err := hex.DecodeString(hdr["Index"])
	if err != nil || len(idx) != 1 {
		return nil, fmt.Errorf("perso: test CA %s: bad Index header", scheme)
	}
	ca := &CA{Key: key, Index: idx[0]}
	copy(ca.RID[:], rid)
	return ca, nil
}

// TestIssuerKey returns the TEST-ONLY issuer private key of scheme.
func TestIssuerKey(scheme string) (*rsa.PrivateKey, error) {
	k, _, err := loadTestKey(scheme, "issuer")
	return k, err
}

// TestICCKey returns the TEST-ONLY card (ICC) private key of scheme.
func TestICCKey(scheme string) (*rsa.PrivateKey, error) {
	k, _, err := loadTestKey(scheme, "icc")
	return k, err
}

func loadTestKey(scheme, role string) (*rsa.PrivateKey, map[string]string, error) {
	name := "testkeys/TEST-ONLY-" + scheme + "-" + role + ".pem"
	b, err := testKeys.ReadFile(name)
	if err != nil {
		return nil, nil, fmt.Errorf("perso: no test %s key for scheme %q: %w", role, scheme, ErrInput)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "RSA PRIVATE KEY" {
		return nil, nil, fmt.Errorf("perso: %s: no RSA PRIVATE KEY block", name)
	}
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("perso: %s: %w", name, err)
	}
	return k, blk.Headers, nil
}
