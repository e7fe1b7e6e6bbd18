package oda

import (
	"errors"
	"fmt"
)

// Sentinel errors: every failed check wraps exactly one of them in a
// *CheckError, so callers branch with errors.Is.
var (
	// ErrNoCAKey: no CA public key candidate (none for the RID/index, or none
	// whose modulus length equals the certificate length).
	ErrNoCAKey = errors.New("no CA public key")
	// ErrKey: a public key unusable for recovery (modulus empty, longer than
	// 248 bytes, with a leading zero byte, or below 2; exponent not 1-3 bytes
	// or zero).
	ErrKey = errors.New("unusable public key")
	// ErrInput: a caller-supplied value is malformed (PAN not digits, no
	// transaction date, terminal data of the wrong length).
	ErrInput = errors.New("bad input")
	// ErrLength: certificate or signature length differs from the key's
	// modulus length, or its value is not below the modulus.
	ErrLength = errors.New("length")
	// ErrHeader: recovered data header is not 6A.
	ErrHeader = errors.New("recovered data header")
	// ErrTrailer: recovered data trailer is not BC.
	ErrTrailer = errors.New("recovered data trailer")
	// ErrFormat: certificate or signed data format byte is wrong.
	ErrFormat = errors.New("data format")
	// ErrAlgorithm: hash algorithm or public key algorithm indicator is not 01.
	ErrAlgorithm = errors.New("algorithm indicator")
	// ErrHash: the recovered hash result differs from the recomputed SHA-1.
	ErrHash = errors.New("hash mismatch")
	// ErrIssuerID: the issuer identifier is malformed or does not match the
	// leftmost PAN digits.
	ErrIssuerID = errors.New("issuer identifier mismatch")
	// ErrPANMismatch: the PAN in the ICC public key certificate is malformed
	// or is not the card's PAN.
	ErrPANMismatch = errors.New("PAN mismatch")
	// ErrDate: the certificate expiration date is not a valid MMYY.
	ErrDate = errors.New("bad certificate date")
	// ErrExpired: the certificate expired before the transaction date.
	ErrExpired = errors.New("certificate expired")
	// ErrRevoked: the issuer certificate (RID, CA index, serial) is revoked.
	ErrRevoked = errors.New("certificate revoked")
	// ErrRemainder: the public key remainder is missing, superfluous or of
	// the wrong length, or the exponent length disagrees with the
	// certificate.
	ErrRemainder = errors.New("public key remainder or exponent")
	// ErrDynamicData: the ICC dynamic data lengths are inconsistent.
	ErrDynamicData = errors.New("ICC dynamic data")
	// ErrCID: the CID signed in CDA differs from the CID in the GENERATE AC
	// response.
	ErrCID = errors.New("cryptogram information data mismatch")
	// ErrTxnHash: the transaction data hash code signed in CDA differs from
	// the one recomputed from PDOL, CDOL1 and response data.
	ErrTxnHash = errors.New("transaction data hash mismatch")
)

// Steps named in CheckError.Step.
const (
	StepIssuerCert = "issuer public key certificate"
	StepICCCert    = "ICC public key certificate"
	StepSDA        = "signed static application data"
	StepDDA        = "signed dynamic application data"
	StepCDA        = "CDA signed dynamic application data"
)

// CheckError reports one failed verification check. It never holds key,
// certificate or full PAN bytes: PANs appear as first 6 + last 4 digits.
type CheckError struct {
	Step  string // one of the Step* constants
	Check string // what was checked and found wrong
	Key   string // the CA key tried (capk.Key.String()), if any
	Tried int    // CA key candidates tried (issuer certificate only)
	Err   error  // sentinel (ErrHash, ErrExpired, ...)
}

func (e *CheckError) Error() string {
	s := "oda: " + e.Step + ": " + e.Check
	if e.Key != "" {
		s += " (CA key " + e.Key
		if e.Tried > 1 {
			s += fmt.Sprintf(", best of %d candidates", e.Tried)
		}
		s += ")"
	}
	return s
}

// Unwrap returns the sentinel.
func (e *CheckError) Unwrap() error { return e.Err }

func fail(step string, sentinel error, format string, args ...any) *CheckError {
	return &CheckError{Step: step, Check: fmt.Sprintf(format, args...), Err: sentinel}
}

// maskID shows at most the first 6 digits of an issuer identifier (which
// holds up to 8 leading PAN digits).
func maskID(id string) string {
	if len(id) <= 6 {
		return id
	}
	return id[:6] + stars(len(id)-6)
}

func stars(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '*'
	}
	return string(b)
}
