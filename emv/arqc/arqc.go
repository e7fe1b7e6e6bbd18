package arqc

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
)

// Key is a double-length 3DES key (K1 || K2). Its String method prints only
// the key check value, never the key.
type Key [16]byte

// String returns the key check value (the first three bytes of the key
// encrypting a zero block), which identifies a key without revealing it.
func (k Key) String() string {
	var kcv [8]byte
	k.encrypt(kcv[:], make([]byte, 8))
	return "arqc.Key(KCV " + fmt.Sprintf("%X", kcv[:3]) + ")"
}

// GoString masks the key in %#v as String does in %v.
func (k Key) GoString() string { return k.String() }

// Format prints the key check value for every verb (%x and %d included).
func (k Key) Format(f fmt.State, verb rune) { fmt.Fprint(f, k.String()) }

// MarshalText writes the key check value, never the key (so does JSON).
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// LogValue logs the key check value.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// CheckValue returns the first n (1..8) bytes of the key check value, the
// usual way to compare keys across systems without showing them.
func (k Key) CheckValue(n int) []byte {
	if n < 1 || n > 8 {
		n = 3
	}
	var kcv [8]byte
	k.encrypt(kcv[:], make([]byte, 8))
	return kcv[:n]
}

// tdes returns the EDE 3DES block cipher K1,K2,K1.
func (k Key) tdes() cipher.Block {
	var k24 [24]byte
	copy(k24[:16], k[:])
	copy(k24[16:], k[:8])
	c, err := des.NewTripleDESCipher(k24[:])
	if err != nil {
		// Only a wrong key length fails, and the length is fixed by the type.
		panic("arqc: 3DES key setup: " + err.Error())
	}
	return c
}

// encrypt 3DES-ECB encrypts one block src into dst.
func (k Key) encrypt(dst, src []byte) { k.tdes().Encrypt(dst, src) }

// setOddParity sets the least significant bit of every byte so that each byte
// has an odd number of one bits (DES key parity).
func setOddParity(k *Key) {
	for i, b := range k {
		if bits.OnesCount8(b)%2 == 0 {
			k[i] = b ^ 1
		}
	}
}

// DeriveICCMasterKey derives the ICC master key from the issuer master key,
// EMV Book 2 A1.4.1 Option A: Y = the rightmost 16 digits of PAN || PSN,
// left-padded with zeros; MK = DES3(IMK)[Y] || DES3(IMK)[Y xor FF..FF], with
// odd parity set. Characters of pan that are not decimal digits (an 'F'
// padding nibble, spaces) are ignored. psn is the PAN sequence number as
// stored on the card (tag 5F34, BCD, e.g. 0x01).
func DeriveICCMasterKey(imk Key, pan string, psn byte) Key {
	digits := make([]byte, 0, len(pan)+2)
	for i := 0; i < len(pan); i++ {
		if c := pan[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	const hexdig = "0123456789ABCDEF"
	digits = append(digits, hexdig[psn>>4], hexdig[psn&0x0f])
	if len(digits) > 16 {
		digits = digits[len(digits)-16:]
	}
	var y [16]byte
	for i := range y {
		y[i] = '0'
	}
	copy(y[16-len(digits):], digits)
	var a [8]byte
	// The digits are 0-9 (and A-F from a non-BCD PSN): always valid hex.
	if _, err := hex.Decode(a[:], y[:]); err != nil {
		panic("arqc: unreachable: " + err.Error())
	}
	var mk Key
	c := imk.tdes()
	c.Encrypt(mk[:8], a[:])
	for i := range a {
		a[i] ^= 0xff
	}
	c.Encrypt(mk[8:], a[:])
	setOddParity(&mk)
	return mk
}

// SessionKey derives the application cryptogram session key from the ICC
// master key with the EMV common session key derivation (Book 2 A1.3):
// left = DES3(MK)[ATC || F0 || 00 00 00 00 00], right = DES3(MK)[ATC || 0F ||
// 00 00 00 00 00]. Odd parity is set on the result (DES ignores parity bits,
// so cryptograms do not depend on it).
func SessionKey(mk Key, atc [2]byte) Key {
	return commonSessionKey(mk, [8]byte{atc[0], atc[1]})
}

// commonSessionKey is the general form of the common session key derivation
// with an 8-byte diversification value R (byte 2 is replaced by F0 / 0F).
func commonSessionKey(mk Key, r [8]byte) Key {
	var sk Key
	c := mk.tdes()
	r[2] = 0xf0
	c.Encrypt(sk[:8], r[:])
	r[2] = 0x0f
	c.Encrypt(sk[8:], r[:])
	setOddParity(&sk)
	return sk
}

// Compute returns the application cryptogram over data: an ISO/IEC 9797-1
// MAC algorithm 3 (retail MAC) with padding method 2 (80 00..). Single DES
// CBC with K1 over all blocks, then the last block is decrypted with K2 and
// encrypted with K1.
func Compute(sk Key, data []byte) [8]byte {
	k1, err := des.NewCipher(sk[:8])
	if err != nil {
		panic("arqc: DES key setup: " + err.Error())
	}
	k2, err := des.NewCipher(sk[8:])
	if err != nil {
		panic("arqc: DES key setup: " + err.Error())
	}
	n := len(data)/8*8 + 8
	padded := make([]byte, n)
	copy(padded, data)
	padded[len(data)] = 0x80
	var h [8]byte
	for off := 0; off < n; off += 8 {
		subtle.XORBytes(h[:], h[:], padded[off:off+8])
		k1.Encrypt(h[:], h[:])
	}
	k2.Decrypt(h[:], h[:])
	k1.Encrypt(h[:], h[:])
	return h
}

// ARPC returns the authorisation response cryptogram, method 1 (EMV Book 2
// 8.2.1): DES3(key)[ARQC xor (ARC || 00 00 00 00 00 00)].
func ARPC(sk Key, arqc [8]byte, arc [2]byte) [8]byte {
	var x [8]byte = arqc
	x[0] ^= arc[0]
	x[1] ^= arc[1]
	var out [8]byte
	sk.encrypt(out[:], x[:])
	return out
}

// Verify recomputes the application cryptogram of a card from the issuer
// master key and compares it with ac in constant time.
func Verify(imk Key, pan string, psn byte, atc [2]byte, data []byte, ac [8]byte) bool {
	sk := SessionKey(DeriveICCMasterKey(imk, pan, psn), atc)
	want := Compute(sk, data)
	return subtle.ConstantTimeCompare(want[:], ac[:]) == 1
}

// Errors returned by [Input].
var (
	// ErrMissingTag: a data element of the cryptogram input is absent.
	ErrMissingTag = errors.New("missing data element")
	// ErrTagLength: a fixed-length data element has the wrong length.
	ErrTagLength = errors.New("wrong data element length")
)

// TagError says which data element of the cryptogram input was wrong. It
// carries the tag and the length, never the value.
type TagError struct {
	Tag  uint32 // EMV tag, e.g. 0x9F37
	Len  int    // length found (0 when missing)
	Want int    // expected length (0 when variable)
	Err  error  // ErrMissingTag or ErrTagLength
}

func (e *TagError) Error() string {
	if errors.Is(e.Err, ErrTagLength) {
		return fmt.Sprintf("arqc: cryptogram input: tag %X: %v: %d bytes, want %d", e.Tag, e.Err, e.Len, e.Want)
	}
	return fmt.Sprintf("arqc: cryptogram input: tag %X: %v", e.Tag, e.Err)
}

func (e *TagError) Unwrap() error { return e.Err }

// inputTags is the cryptogram input, in order, with each element's fixed
// length (0 = variable).
var inputTags = [...]struct {
	tag uint32
	n   int
}{
	{0x9F02, 6}, // amount, authorised
	{0x9F03, 6}, // amount, other
	{0x9F1A, 2}, // terminal country code
	{0x95, 5},   // terminal verification results
	{0x5F2A, 2}, // transaction currency code
	{0x9A, 3},   // transaction date
	{0x9C, 1},   // transaction type
	{0x9F37, 4}, // unpredictable number
	{0x82, 2},   // application interchange profile
	{0x9F36, 2}, // application transaction counter
	{0x9F10, 0}, // issuer application data
}

// InputTags lists the tags of the cryptogram input in the order [Input]
// concatenates them.
func InputTags() []uint32 {
	out := make([]uint32, len(inputTags))
	for i, t := range inputTags {
		out[i] = t.tag
	}
	return out
}

// Input builds the cryptogram input: the values of 9F02 9F03 9F1A 95 5F2A 9A
// 9C 9F37 82 9F36 9F10, concatenated in that order. get returns a tag's value
// (nil when absent). An absent or empty element, or a fixed-length element of
// the wrong length, is a *TagError naming the tag.
func Input(get func(tag uint32) []byte) ([]byte, error) {
	out := make([]byte, 0, 64)
	for _, t := range inputTags {
		v := get(t.tag)
		if len(v) == 0 {
			return nil, &TagError{Tag: t.tag, Want: t.n, Err: ErrMissingTag}
		}
		if t.n != 0 && len(v) != t.n {
			return nil, &TagError{Tag: t.tag, Len: len(v), Want: t.n, Err: ErrTagLength}
		}
		out = append(out, v...)
	}
	return out, nil
}

// ReaderODAFailed is TVR byte 1 bit 4 ("DDA failed") as a Kernel C-3/C-7
// reader sets it in the online message when fDDA fails on an online
// authorisation (ODA for online authorisations): after the card computed
// its ARQC over the TVR of GET PROCESSING OPTIONS.
const ReaderODAFailed = 0x08

// Inputs returns the cryptogram inputs an issuer tries for an online
// message, in order: as the message holds it and, when its TVR carries
// ReaderODAFailed, with that bit cleared (the TVR the card saw). Errors are
// Input's.
func Inputs(get func(tag uint32) []byte) ([][]byte, error) {
	data, err := Input(get)
	if err != nil {
		return nil, err
	}
	out := [][]byte{data}
	if tvr := get(0x95); len(tvr) == 5 && tvr[0]&ReaderODAFailed != 0 {
		seen := append([]byte{tvr[0] &^ ReaderODAFailed}, tvr[1:]...)
		alt, err := Input(func(tag uint32) []byte {
			if tag == 0x95 {
				return seen
			}
			return get(tag)
		})
		if err == nil {
			out = append(out, alt)
		}
	}
	return out, nil
}
