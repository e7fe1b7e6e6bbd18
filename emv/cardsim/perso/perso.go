package perso

import (
	"crypto/rsa"
	"crypto/sha1"
	"errors"
	"fmt"
	"math/big"

	"posagent/emv/capk"
)

// Errors returned by the personalisation functions.
var (
	// ErrKey: a private key is missing, not a two-prime key, longer than 248
	// bytes, too short for the data format, or longer than the key that
	// must sign its certificate.
	ErrKey = errors.New("perso: unusable key")
	// ErrInput: issuer identifier, PAN, expiry date, dynamic number or
	// unpredictable number malformed.
	ErrInput = errors.New("perso: bad input")
	// ErrTooLong: the data does not fit the signature block.
	ErrTooLong = errors.New("perso: data does not fit the key")
)

// maxModulusLen is the EMV maximum key length (1984 bits).
const maxModulusLen = 248

// CA is a certification authority that signs issuer public key certificates.
type CA struct {
	Key   *rsa.PrivateKey
	RID   [5]byte
	Index byte
}

// CAPK returns the CA's public key as a terminal holds it (Test: true,
// Scheme "posagent-test").
func (ca *CA) CAPK() capk.Key {
	return capk.Key{
		RID:      ca.RID,
		Index:    ca.Index,
		Modulus:  modulus(&ca.Key.PublicKey),
		Exponent: exponent(ca.Key.E),
		Scheme:   "posagent-test",
		Test:     true,
	}
}

// Issuer is an issuer key with its public key certificate.
type Issuer struct {
	Key       *rsa.PrivateKey
	Cert      []byte // tag 90
	Remainder []byte // tag 92, nil when the key fits the certificate
	Exponent  []byte // tag 9F32
}

// ICC is a card key with its public key certificate.
type ICC struct {
	Key       *rsa.PrivateKey
	Cert      []byte // tag 9F46
	Remainder []byte // tag 9F48, nil when the key fits the certificate
	Exponent  []byte // tag 9F47
}

// NewIssuer signs an issuer public key certificate (format 02, EMV Book 2
// table 13) for key. issuerID is the 3-8 leading PAN digits, expiry MMYY.
func (ca *CA) NewIssuer(key *rsa.PrivateKey, issuerID string, expiry string, serial [3]byte) (*Issuer, error) {
	if err := checkKey(ca.Key, 37); err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	if err := checkKey(key, 1); err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	nca := size(ca.Key)
	ni := size(key)
	if ni > nca {
		return nil, fmt.Errorf("issuer key %d bytes longer than CA key %d: %w", ni, nca, ErrKey)
	}
	if !digits(issuerID) || len(issuerID) < 3 || len(issuerID) > 8 {
		return nil, fmt.Errorf("issuer identifier not 3-8 digits: %w", ErrInput)
	}
	exp, err := mmyy(expiry)
	if err != nil {
		return nil, err
	}
	b := make([]byte, nca)
	b[0], b[1] = 0x6A, 0x02
	copy(b[2:6], cn(issuerID, 4))
	copy(b[6:8], exp)
	copy(b[8:11], serial[:])
	b[11], b[12] = 0x01, 0x01
	pubExp := exponent(key.E)
	b[13], b[14] = byte(ni), byte(len(pubExp))
	mod := modulus(&key.PublicKey)
	rem := placeKey(b[15:nca-21], mod)
	sum := sha1Of(b[1:nca-21], rem, pubExp)
	copy(b[nca-21:], sum[:])
	b[nca-1] = 0xBC
	cert, err := Sign(ca.Key, b)
	if err != nil {
		return nil, err
	}
	return &Issuer{Key: key, Cert: cert, Remainder: rem, Exponent: pubExp}, nil
}

// NewICC signs an ICC public key certificate (format 04, EMV Book 2 table
// 14) for key, binding pan (digits), expiry (MMYY) and staticData, the
// static data to be authenticated. The certificate serial number is derived
// from the PAN, expiry and key.
func (is *Issuer) NewICC(key *rsa.PrivateKey, pan string, expiry string, staticData []byte) (*ICC, error) {
	if err := checkKey(is.Key, 43); err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	if err := checkKey(key, 1); err != nil {
		return nil, fmt.Errorf("ICC key: %w", err)
	}
	ni, nic := size(is.Key), size(key)
	if nic > ni {
		return nil, fmt.Errorf("ICC key %d bytes longer than issuer key %d: %w", nic, ni, ErrKey)
	}
	if !digits(pan) || len(pan) < 1 || len(pan) > 19 {
		return nil, fmt.Errorf("PAN not 1-19 digits: %w", ErrInput)
	}
	exp, err := mmyy(expiry)
	if err != nil {
		return nil, err
	}
	mod := modulus(&key.PublicKey)
	serial := sha1Of([]byte(pan), exp, mod)
	b := make([]byte, ni)
	b[0], b[1] = 0x6A, 0x04
	copy(b[2:12], cn(pan, 10))
	copy(b[12:14], exp)
	copy(b[14:17], serial[:3])
	b[17], b[18] = 0x01, 0x01
	pubExp := exponent(key.E)
	b[19], b[20] = byte(nic), byte(len(pubExp))
	rem := placeKey(b[21:ni-21], mod)
	sum := sha1Of(b[1:ni-21], rem, pubExp, staticData)
	copy(b[ni-21:], sum[:])
	b[ni-1] = 0xBC
	cert, err := Sign(is.Key, b)
	if err != nil {
		return nil, err
	}
	return &ICC{Key: key, Cert: cert, Remainder: rem, Exponent: pubExp}, nil
}

// SignStaticData returns Signed Static Application Data (tag 93, format 03,
// EMV Book 2 table 7) over staticData.
func (is *Issuer) SignStaticData(dac [2]byte, staticData []byte) ([]byte, error) {
	if err := checkKey(is.Key, 26); err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	ni := size(is.Key)
	b := make([]byte, ni)
	b[0], b[1], b[2] = 0x6A, 0x03, 0x01
	copy(b[3:5], dac[:])
	for i := 5; i < ni-21; i++ {
		b[i] = 0xBB
	}
	sum := sha1Of(b[1:ni-21], staticData)
	copy(b[ni-21:], sum[:])
	b[ni-1] = 0xBC
	return Sign(is.Key, b)
}

// SignDynamic returns Signed Dynamic Application Data (tag 9F4B, format 05,
// EMV Book 2 table 17) for DDA or fDDA: the ICC dynamic data is the
// length-prefixed ICC Dynamic Number (2-8 bytes), the hash covers
// terminalDynamicData (DDOL data; for fDDA oda.FDDAData).
func (icc *ICC) SignDynamic(iccDynamicNumber, terminalDynamicData []byte) ([]byte, error) {
	if len(iccDynamicNumber) < 2 || len(iccDynamicNumber) > 8 {
		return nil, fmt.Errorf("ICC dynamic number is %d bytes, want 2-8: %w", len(iccDynamicNumber), ErrInput)
	}
	dyn := append([]byte{byte(len(iccDynamicNumber))}, iccDynamicNumber...)
	return icc.signDynamicData(dyn, terminalDynamicData)
}

// SignCDA returns the Signed Dynamic Application Data of a GENERATE AC
// response under CDA (EMV Book 2 table 19): ICC dynamic data =
// length | ICC Dynamic Number | CID | AC | transaction data hash code, the
// hash covering the unpredictable number un (4 bytes).
func (icc *ICC) SignCDA(iccDynamicNumber []byte, cid byte, cryptogram [8]byte, txnDataHash [20]byte, un []byte) ([]byte, error) {
	if len(iccDynamicNumber) < 2 || len(iccDynamicNumber) > 8 {
		return nil, fmt.Errorf("ICC dynamic number is %d bytes, want 2-8: %w", len(iccDynamicNumber), ErrInput)
	}
	if len(un) != 4 {
		return nil, fmt.Errorf("unpredictable number is %d bytes, want 4: %w", len(un), ErrInput)
	}
	dyn := make([]byte, 0, 1+len(iccDynamicNumber)+1+8+20)
	dyn = append(dyn, byte(len(iccDynamicNumber)))
	dyn = append(dyn, iccDynamicNumber...)
	dyn = append(dyn, cid)
	dyn = append(dyn, cryptogram[:]...)
	dyn = append(dyn, txnDataHash[:]...)
	return icc.signDynamicData(dyn, un)
}

func (icc *ICC) signDynamicData(dyn, terminalData []byte) ([]byte, error) {
	if err := checkKey(icc.Key, 25); err != nil {
		return nil, fmt.Errorf("ICC key: %w", err)
	}
	nic := size(icc.Key)
	if len(dyn) > nic-25 || len(dyn) > 255 {
		return nil, fmt.Errorf("ICC dynamic data of %d bytes in a %d-byte key: %w", len(dyn), nic, ErrTooLong)
	}
	b := make([]byte, nic)
	b[0], b[1], b[2], b[3] = 0x6A, 0x05, 0x01, byte(len(dyn))
	copy(b[4:], dyn)
	for i := 4 + len(dyn); i < nic-21; i++ {
		b[i] = 0xBB
	}
	sum := sha1Of(b[1:nic-21], terminalData)
	copy(b[nic-21:], sum[:])
	b[nic-1] = 0xBC
	return Sign(icc.Key, b)
}

// Sign applies the raw RSA private operation (block^d mod n, EMV recovery
// format, no PKCS#1 padding) to a formatted block as long as the modulus.
// The block must be numerically below the modulus (a block starting 6A is,
// for any key whose top byte is above 6A). Tests use it to build
// deliberately malformed certificates. It uses math/big, which is not
// constant-time: fine for simulated cards and test keys, not for a real
// issuer's keys.
func Sign(key *rsa.PrivateKey, block []byte) ([]byte, error) {
	if err := checkKey(key, 1); err != nil {
		return nil, err
	}
	n := size(key)
	if len(block) != n {
		return nil, fmt.Errorf("block is %d bytes, modulus %d: %w", len(block), n, ErrTooLong)
	}
	m := new(big.Int).SetBytes(block)
	if m.Cmp(key.N) >= 0 {
		return nil, fmt.Errorf("block not below the modulus: %w", ErrKey)
	}
	// CRT: s = m2 + q * (qInv * (m1 - m2) mod p)
	p, q := key.Primes[0], key.Primes[1]
	pc := key.Precomputed
	dp, dq, qinv := pc.Dp, pc.Dq, pc.Qinv
	if dp == nil || dq == nil || qinv == nil {
		one := big.NewInt(1)
		dp = new(big.Int).Mod(key.D, new(big.Int).Sub(p, one))
		dq = new(big.Int).Mod(key.D, new(big.Int).Sub(q, one))
		qinv = new(big.Int).ModInverse(q, p)
		if qinv == nil {
			return nil, fmt.Errorf("primes not coprime: %w", ErrKey)
		}
	}
	m1 := new(big.Int).Exp(m, dp, p)
	m2 := new(big.Int).Exp(m, dq, q)
	h := m1.Sub(m1, m2)
	h.Mul(h, qinv).Mod(h, p)
	s := h.Mul(h, q).Add(h, m2)
	// Check the result with the public operation: a wrong key must not
	// produce a certificate that silently fails later.
	if new(big.Int).Exp(s, big.NewInt(int64(key.E)), key.N).Cmp(m) != 0 {
		return nil, fmt.Errorf("private key does not match its public key: %w", ErrKey)
	}
	return s.FillBytes(make([]byte, n)), nil
}

// checkKey requires a usable two-prime key of minLen..248 bytes.
func checkKey(k *rsa.PrivateKey, minLen int) error {
	if k == nil || k.N == nil || k.D == nil || len(k.Primes) != 2 || k.E < 2 {
		return fmt.Errorf("missing or not a two-prime RSA key: %w", ErrKey)
	}
	if n := size(k); n < minLen || n > maxModulusLen {
		return fmt.Errorf("modulus of %d bytes outside %d..%d: %w", n, minLen, maxModulusLen, ErrKey)
	}
	return nil
}

func size(k *rsa.PrivateKey) int { return (k.N.BitLen() + 7) / 8 }

func modulus(k *rsa.PublicKey) []byte { return k.N.Bytes() }

// exponent encodes e big-endian without leading zeros (03, 010001).
func exponent(e int) []byte {
	return new(big.Int).SetInt64(int64(e)).Bytes()
}

// placeKey writes mod into the certificate key field: the whole key padded
// with BB, or its leftmost bytes; it returns the remainder (nil if none).
func placeKey(field, mod []byte) []byte {
	if len(mod) <= len(field) {
		copy(field, mod)
		for i := len(mod); i < len(field); i++ {
			field[i] = 0xBB
		}
		return nil
	}
	copy(field, mod)
	return append([]byte(nil), mod[len(field):]...)
}

// cn encodes digits as compressed numeric of n bytes, F padded.
func cn(s string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xFF
	}
	for i := 0; i < len(s) && i < 2*n; i++ {
		d := s[i] - '0'
		if i%2 == 0 {
			b[i/2] = d<<4 | 0x0F
		} else {
			b[i/2] = b[i/2]&0xF0 | d
		}
	}
	return b
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// mmyy encodes an MMYY date as two BCD bytes.
func mmyy(s string) ([]byte, error) {
	if len(s) != 4 || !digits(s) {
		return nil, fmt.Errorf("expiry %q is not MMYY: %w", s, ErrInput)
	}
	if m := (s[0]-'0')*10 + s[1] - '0'; m < 1 || m > 12 {
		return nil, fmt.Errorf("expiry month %q: %w", s[:2], ErrInput)
	}
	return []byte{(s[0]-'0')<<4 | (s[1] - '0'), (s[2]-'0')<<4 | (s[3] - '0')}, nil
}

func sha1Of(parts ...[]byte) [20]byte {
	h := sha1.New()
	for _, p := range parts {
		h.Write(p)
	}
	var sum [20]byte
	copy(sum[:], h.Sum(nil))
	return sum
}
