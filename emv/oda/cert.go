package oda

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"posagent/emv/capk"
	cardpan "posagent/emv/pan"
)

// IssuerKey is an issuer public key recovered from its certificate (tag 90),
// with the certificate fields the terminal may need afterwards.
type IssuerKey struct {
	PublicKey
	IssuerID string   // 3-8 leading PAN digits, F padding removed
	Expiry   string   // MMYY, valid through the end of that month
	Serial   []byte   // 3-byte certificate serial number
	CA       capk.Key // the CA public key that verified the certificate
}

// Revoked names one revoked issuer public key certificate.
type Revoked struct {
	RID    [5]byte
	Index  byte    // CA public key index
	Serial [3]byte // certificate serial number
}

// RevocationList is the terminal's list of revoked issuer certificates.
// A nil list revokes nothing.
type RevocationList []Revoked

// Contains reports whether the certificate (rid, CA index, serial) is on the
// list. rid must be 5 bytes and serial 3 bytes, else it reports false.
func (l RevocationList) Contains(rid []byte, index byte, serial []byte) bool {
	if len(rid) != 5 || len(serial) != 3 {
		return false
	}
	for _, r := range l {
		if r.Index == index && bytes.Equal(r.RID[:], rid) && bytes.Equal(r.Serial[:], serial) {
			return true
		}
	}
	return false
}

// Progress of a certificate check, used to pick the most telling error
// when several CA key candidates fail.
const (
	stageKey = iota
	stageRecovered
	stageHeader
	stageFormat
	stageHashed // hash verified: the candidate is the signer
)

// RecoverIssuerKey verifies the issuer public key certificate (tag 90) with
// each CA key candidate whose modulus length equals the certificate length,
// following EMV Book 2 section 5.3 / 6.3, and returns the issuer key from
// the first candidate that verifies. remainder is tag 92 (nil if absent),
// exponent tag 9F32, pan the card's PAN digits (tag 5A). Expiry is judged
// against txnDate, the transaction date (for a replay: the recorded date).
// revoked may be nil.
//
// When every candidate fails, the error is the one from the candidate that
// got furthest (a candidate whose hash verified is the real signer).
func RecoverIssuerKey(cands []capk.Key, cert, remainder, exponent []byte, pan string, txnDate time.Time, revoked RevocationList) (*IssuerKey, error) {
	const step = StepIssuerCert
	pan, ce := checkInputs(step, pan, txnDate)
	if ce != nil {
		return nil, ce
	}
	if len(cands) == 0 {
		return nil, fail(step, ErrNoCAKey, "no CA public key for this RID and index")
	}
	var (
		best      *CheckError
		bestStage = -1
		tried     int
	)
	for _, ca := range cands {
		if len(ca.Modulus) != len(cert) {
			continue
		}
		tried++
		ik, ce, stage := issuerWith(ca, cert, remainder, exponent, pan, txnDate, revoked)
		if ce == nil {
			return ik, nil
		}
		ce.Key = ca.String()
		if stage > bestStage {
			best, bestStage = ce, stage
		}
	}
	if best == nil {
		return nil, fail(step, ErrNoCAKey, "certificate is %d bytes; none of %d CA key candidates has that length", len(cert), len(cands))
	}
	best.Tried = tried
	return nil, best
}

func issuerWith(ca capk.Key, cert, remainder, exponent []byte, pan string, txnDate time.Time, revoked RevocationList) (*IssuerKey, *CheckError, int) {
	const step = StepIssuerCert
	pub := PublicKey{Modulus: ca.Modulus, Exponent: ca.Exponent}
	b, ce := recoverData(pub, cert, step)
	if ce != nil {
		return nil, ce, stageKey
	}
	n := len(b)
	if n < 37 {
		return nil, fail(step, ErrLength, "certificate is %d bytes, too short for the format", n), stageKey
	}
	if b[n-1] != 0xBC {
		return nil, fail(step, ErrTrailer, "recovered data trailer is %02X, want BC", b[n-1]), stageRecovered
	}
	if b[0] != 0x6A {
		return nil, fail(step, ErrHeader, "recovered data header is %02X, want 6A", b[0]), stageRecovered
	}
	if b[1] != 0x02 {
		return nil, fail(step, ErrFormat, "certificate format is %02X, want 02", b[1]), stageHeader
	}
	if b[11] != 0x01 {
		return nil, fail(step, ErrAlgorithm, "hash algorithm indicator is %02X, want 01 (SHA-1)", b[11]), stageFormat
	}
	keyLen, expLen := int(b[13]), int(b[14])
	field := b[15 : n-21]
	mod, ce := joinRemainder(step, field, keyLen, remainder)
	if ce != nil {
		return nil, ce, stageFormat
	}
	if expLen != len(exponent) {
		return nil, fail(step, ErrRemainder, "exponent length is %d in the certificate, %d in tag 9F32", expLen, len(exponent)), stageFormat
	}
	if sum := sha1Of(b[1:n-21], remainder, exponent); !bytes.Equal(sum[:], b[n-21:n-1]) {
		return nil, fail(step, ErrHash, "hash result does not match certificate data"), stageFormat
	}
	id, ok := decodeCN(b[2:6])
	if !ok || len(id) < 3 {
		return nil, fail(step, ErrIssuerID, "issuer identifier is not 3-8 digits with F padding"), stageHashed
	}
	if !strings.HasPrefix(pan, id) {
		return nil, fail(step, ErrIssuerID, "issuer identifier %s does not match PAN %s", maskID(id), cardpan.Mask(pan)), stageHashed
	}
	expiry, ce := checkExpiry(step, b[6:8], txnDate)
	if ce != nil {
		return nil, ce, stageHashed
	}
	serial := b[8:11]
	if revoked.Contains(ca.RID[:], ca.Index, serial) {
		return nil, fail(step, ErrRevoked, "certificate serial %X of CA %X/%02X is revoked", serial, ca.RID[:], ca.Index), stageHashed
	}
	if b[12] != 0x01 {
		return nil, fail(step, ErrAlgorithm, "issuer public key algorithm indicator is %02X, want 01 (RSA)", b[12]), stageHashed
	}
	ik := &IssuerKey{
		PublicKey: PublicKey{Modulus: mod, Exponent: bytes.Clone(exponent)},
		IssuerID:  id,
		Expiry:    expiry,
		Serial:    bytes.Clone(serial),
		CA:        ca,
	}
	if ce := ik.PublicKey.check(step); ce != nil {
		return nil, ce, stageHashed
	}
	return ik, nil, stageHashed
}

// RecoverICCKey verifies the ICC public key certificate (tag 9F46) with the
// issuer public key, following EMV Book 2 section 6.4, and returns the ICC
// public key. remainder is tag 9F48 (nil if absent), exponent tag 9F47,
// staticData the static data to be authenticated (records flagged in the
// AFL, plus the SDA tag list data), pan the card's PAN digits, which must
// equal the certificate's PAN exactly.
func RecoverICCKey(issuer PublicKey, cert, remainder, exponent []byte, staticData []byte, pan string, txnDate time.Time) (*PublicKey, error) {
	const step = StepICCCert
	pan, ce := checkInputs(step, pan, txnDate)
	if ce != nil {
		return nil, ce
	}
	b, ce := recoverData(issuer, cert, step)
	if ce != nil {
		return nil, ce
	}
	n := len(b)
	if n < 43 {
		return nil, fail(step, ErrLength, "certificate is %d bytes, too short for the format", n)
	}
	if b[n-1] != 0xBC {
		return nil, fail(step, ErrTrailer, "recovered data trailer is %02X, want BC", b[n-1])
	}
	if b[0] != 0x6A {
		return nil, fail(step, ErrHeader, "recovered data header is %02X, want 6A", b[0])
	}
	if b[1] != 0x04 {
		return nil, fail(step, ErrFormat, "certificate format is %02X, want 04", b[1])
	}
	if b[17] != 0x01 {
		return nil, fail(step, ErrAlgorithm, "hash algorithm indicator is %02X, want 01 (SHA-1)", b[17])
	}
	keyLen, expLen := int(b[19]), int(b[20])
	mod, ce := joinRemainder(step, b[21:n-21], keyLen, remainder)
	if ce != nil {
		return nil, ce
	}
	if expLen != len(exponent) {
		return nil, fail(step, ErrRemainder, "exponent length is %d in the certificate, %d in tag 9F47", expLen, len(exponent))
	}
	if sum := sha1Of(b[1:n-21], remainder, exponent, staticData); !bytes.Equal(sum[:], b[n-21:n-1]) {
		return nil, fail(step, ErrHash, "hash result does not match certificate data and static data to be authenticated")
	}
	certPAN, ok := decodeCN(b[2:12])
	if !ok || len(certPAN) == 0 {
		return nil, fail(step, ErrPANMismatch, "certificate PAN is not digits with F padding")
	}
	if certPAN != pan {
		return nil, fail(step, ErrPANMismatch, "certificate PAN %s does not match card PAN %s", cardpan.Mask(certPAN), cardpan.Mask(pan))
	}
	if _, ce := checkExpiry(step, b[12:14], txnDate); ce != nil {
		return nil, ce
	}
	if b[18] != 0x01 {
		return nil, fail(step, ErrAlgorithm, "ICC public key algorithm indicator is %02X, want 01 (RSA)", b[18])
	}
	k := &PublicKey{Modulus: mod, Exponent: bytes.Clone(exponent)}
	if ce := k.check(step); ce != nil {
		return nil, ce
	}
	return k, nil
}

// joinRemainder rebuilds a modulus of keyLen bytes from the certificate's
// key field (leftmost digits, or the whole key padded with BB) and the
// remainder.
func joinRemainder(step string, field []byte, keyLen int, remainder []byte) ([]byte, *CheckError) {
	if keyLen == 0 {
		return nil, fail(step, ErrRemainder, "public key length is zero")
	}
	if keyLen <= len(field) {
		if len(remainder) != 0 {
			return nil, fail(step, ErrRemainder, "remainder of %d bytes present for a key that fits the certificate", len(remainder))
		}
		return bytes.Clone(field[:keyLen]), nil
	}
	if want := keyLen - len(field); len(remainder) != want {
		return nil, fail(step, ErrRemainder, "remainder is %d bytes, want %d", len(remainder), want)
	}
	mod := make([]byte, 0, keyLen)
	return append(append(mod, field...), remainder...), nil
}

// checkInputs validates the caller's PAN and date; it returns the PAN without
// trailing F padding.
func checkInputs(step, pan string, txnDate time.Time) (string, *CheckError) {
	pan = strings.TrimRight(pan, "Ff")
	if len(pan) < 1 || len(pan) > 19 {
		return "", fail(step, ErrInput, "PAN is %d digits, want 1..19", len(pan))
	}
	for i := 0; i < len(pan); i++ {
		if pan[i] < '0' || pan[i] > '9' {
			return "", fail(step, ErrInput, "PAN is not decimal digits")
		}
	}
	if txnDate.IsZero() {
		return "", fail(step, ErrInput, "transaction date not set")
	}
	return pan, nil
}

// decodeCN decodes compressed numeric digits: digits, then only F padding.
func decodeCN(b []byte) (string, bool) {
	s, err := cardpan.DecodeCN(b)
	return s, err == nil
}

// checkExpiry checks a certificate expiration date (MMYY, BCD): the
// certificate is valid through the last day of that month, judged on the
// calendar date of txnDate. Years 00-49 are 20YY, 50-99 19YY (EMV Book 4).
func checkExpiry(step string, mmyy []byte, txnDate time.Time) (string, *CheckError) {
	s, ok := decodeCN(mmyy)
	if !ok || len(s) != 4 {
		return "", fail(step, ErrDate, "expiration date is not MMYY digits")
	}
	month := int(s[0]-'0')*10 + int(s[1]-'0')
	year := int(s[2]-'0')*10 + int(s[3]-'0')
	if month < 1 || month > 12 {
		return "", fail(step, ErrDate, "expiration month %02d", month)
	}
	if year < 50 {
		year += 2000
	} else {
		year += 1900
	}
	if txnDate.Year()*12+int(txnDate.Month()) > year*12+month {
		return "", fail(step, ErrExpired, "certificate expired %s (end of %02d/%d), transaction date %s",
			s, month, year, txnDate.Format(time.DateOnly))
	}
	return s, nil
}

// String describes the issuer key without key bytes.
func (k *IssuerKey) String() string {
	return fmt.Sprintf("issuer %s key %d-bit, expires %s, serial %X, via CA %s",
		maskID(k.IssuerID), len(k.Modulus)*8, k.Expiry, k.Serial, k.CA)
}
