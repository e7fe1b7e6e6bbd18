package nexo

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
)

// Parameters of Adyen's key derivation and envelope (AdyenCryptoVersion 1):
// PBKDF2-HMAC-SHA1 over the passphrase (bytes as Node's "binary" encoding
// gives them: the low byte of each UTF-16 code unit) with the salt
// "AdyenNexoV1Salt" and 4000 iterations gives 80 bytes: HMAC key (0..32),
// AES-256 key (32..64), IV (64..80). Adyen's Node library asks PBKDF2 for 640
// bytes and reads these first 80; PBKDF2 output is a prefix-stable stream,
// so the 80 bytes are the same.
const (
	CryptoVersion  = 1
	kdfSalt        = "AdyenNexoV1Salt"
	kdfIterations  = 4000
	hmacKeyLen     = 32
	cipherKeyLen   = 32
	ivLen          = 16
	MaxPassphrase  = 256
	MaxKeyID       = 64
	maxBlobDecoded = MaxMessage
)

// Key is a shared secret derived from a passphrase, named by the
// KeyIdentifier and KeyVersion the POS puts in its SecurityTrailer. Its
// String and GoString never show the key material.
type Key struct {
	Identifier string
	Version    int
	hmacKey    []byte
	cipherKey  []byte
	iv         []byte
}

// String shows the key's name only.
func (k Key) String() string { return fmt.Sprintf("nexo key %s v%d", k.Identifier, k.Version) }

// GoString shows the key's name only.
func (k Key) GoString() string { return k.String() }

// DeriveKey derives the key material Adyen's libraries derive from
// passphrase, for the key named identifier/version.
func DeriveKey(identifier string, version int, passphrase string) (Key, error) {
	switch {
	case identifier == "" || len(identifier) > MaxKeyID:
		return Key{}, fmt.Errorf("nexo: key identifier must be 1..%d bytes", MaxKeyID)
	case version < 0:
		return Key{}, errors.New("nexo: key version must not be negative")
	case passphrase == "" || len(passphrase) > MaxPassphrase:
		return Key{}, fmt.Errorf("nexo: key %s v%d: passphrase must be 1..%d bytes", identifier, version, MaxPassphrase)
	}
	dk, err := pbkdf2.Key(sha1.New, string(binaryBytes(passphrase)), []byte(kdfSalt), kdfIterations, hmacKeyLen+cipherKeyLen+ivLen)
	if err != nil {
		return Key{}, fmt.Errorf("nexo: deriving key %s v%d: %w", identifier, version, err)
	}
	return Key{
		Identifier: identifier,
		Version:    version,
		hmacKey:    dk[:hmacKeyLen],
		cipherKey:  dk[hmacKeyLen : hmacKeyLen+cipherKeyLen],
		iv:         dk[hmacKeyLen+cipherKeyLen:],
	}, nil
}

// binaryBytes is Node's Buffer.from(s, "binary"): the low byte of each
// UTF-16 code unit of s.
func binaryBytes(s string) []byte {
	units := utf16.Encode([]rune(s))
	b := make([]byte, len(units))
	for i, u := range units {
		b[i] = byte(u)
	}
	return b
}

// SecurityTrailer names the key and carries the nonce and the HMAC.
type SecurityTrailer struct {
	AdyenCryptoVersion int    `json:"AdyenCryptoVersion"`
	KeyIdentifier      string `json:"KeyIdentifier"`
	KeyVersion         int    `json:"KeyVersion"`
	Nonce              string `json:"Nonce"` // base64, 16 bytes
	Hmac               string `json:"Hmac"`  // base64, HMAC-SHA256 of the clear message
}

// Secured is the protected form of a SaleToPOIRequest or SaleToPOIResponse:
// the clear MessageHeader, the encrypted message and the trailer.
type Secured struct {
	MessageHeader   json.RawMessage  `json:"MessageHeader"`
	NexoBlob        string           `json:"NexoBlob"`
	SecurityTrailer *SecurityTrailer `json:"SecurityTrailer"`
}

// Keyring finds the key a trailer names.
type Keyring struct{ keys map[keyName]Key }

type keyName struct {
	id      string
	version int
}

// NewKeyring holds keys; two keys with the same name are an error.
func NewKeyring(keys ...Key) (*Keyring, error) {
	r := &Keyring{keys: make(map[keyName]Key, len(keys))}
	for _, k := range keys {
		if k.hmacKey == nil {
			return nil, fmt.Errorf("nexo: %s was not derived (use DeriveKey)", k)
		}
		n := keyName{k.Identifier, k.Version}
		if _, dup := r.keys[n]; dup {
			return nil, fmt.Errorf("nexo: %s configured twice", k)
		}
		r.keys[n] = k
	}
	return r, nil
}

// Len is the number of keys held.
func (r *Keyring) Len() int {
	if r == nil {
		return 0
	}
	return len(r.keys)
}

// Lookup returns the key named id/version.
func (r *Keyring) Lookup(id string, version int) (Key, bool) {
	if r == nil {
		return Key{}, false
	}
	k, ok := r.keys[keyName{id, version}]
	return k, ok
}

// Seal protects the clear message (a whole {"SaleToPOIResponse": ...} or
// {"SaleToPOIRequest": ...} document) under k with a fresh random nonce.
func Seal(header json.RawMessage, clear []byte, k Key) (Secured, error) {
	nonce := make([]byte, ivLen)
	if _, err := rand.Read(nonce); err != nil {
		return Secured{}, fmt.Errorf("nexo: nonce: %w", err)
	}
	return sealNonce(header, clear, k, nonce)
}

func sealNonce(header json.RawMessage, clear []byte, k Key, nonce []byte) (Secured, error) {
	block, err := aes.NewCipher(k.cipherKey)
	if err != nil {
		return Secured{}, fmt.Errorf("nexo: %s: %w", k, err)
	}
	pad := aes.BlockSize - len(clear)%aes.BlockSize
	buf := make([]byte, len(clear)+pad)
	copy(buf, clear)
	copy(buf[len(clear):], bytes.Repeat([]byte{byte(pad)}, pad))
	cipher.NewCBCEncrypter(block, k.messageIV(nonce)).CryptBlocks(buf, buf)
	return Secured{
		MessageHeader: header,
		NexoBlob:      base64.StdEncoding.EncodeToString(buf),
		SecurityTrailer: &SecurityTrailer{
			AdyenCryptoVersion: CryptoVersion,
			KeyIdentifier:      k.Identifier,
			KeyVersion:         k.Version,
			Nonce:              base64.StdEncoding.EncodeToString(nonce),
			Hmac:               base64.StdEncoding.EncodeToString(k.mac(clear)),
		},
	}, nil
}

// messageIV is the derived IV xor the message's nonce.
func (k Key) messageIV(nonce []byte) []byte {
	iv := make([]byte, ivLen)
	for i := range iv {
		iv[i] = k.iv[i] ^ nonce[i]
	}
	return iv
}

func (k Key) mac(clear []byte) []byte {
	m := hmac.New(sha256.New, k.hmacKey)
	m.Write(clear)
	return m.Sum(nil)
}

// Open checks and decrypts s with the key its trailer names and returns the
// clear message and the key (to seal the answer with). Errors are
// *EnvelopeError unwrapping to ErrUnknownKey, ErrBadEnvelope or ErrAuth; a
// wrong padding and a wrong HMAC are the same ErrAuth (no padding oracle).
func (r *Keyring) Open(s Secured) ([]byte, Key, error) {
	t := s.SecurityTrailer
	if t == nil {
		return nil, Key{}, envErr(ErrBadEnvelope, "SecurityTrailer missing")
	}
	if t.AdyenCryptoVersion != CryptoVersion {
		return nil, Key{}, envErr(ErrBadEnvelope, fmt.Sprintf("AdyenCryptoVersion %d not supported", t.AdyenCryptoVersion))
	}
	k, ok := r.Lookup(t.KeyIdentifier, t.KeyVersion)
	if !ok {
		return nil, Key{}, envErr(ErrUnknownKey, fmt.Sprintf("no key %.64q version %d", t.KeyIdentifier, t.KeyVersion))
	}
	nonce, err := base64.StdEncoding.DecodeString(t.Nonce)
	if err != nil || len(nonce) != ivLen {
		return nil, Key{}, envErr(ErrBadEnvelope, "Nonce is not 16 bytes of base64")
	}
	mac, err := base64.StdEncoding.DecodeString(t.Hmac)
	if err != nil || len(mac) != sha256.Size {
		return nil, Key{}, envErr(ErrBadEnvelope, "Hmac is not 32 bytes of base64")
	}
	if base64.StdEncoding.DecodedLen(len(s.NexoBlob)) > maxBlobDecoded+aes.BlockSize {
		return nil, Key{}, envErr(ErrBadEnvelope, "NexoBlob too long")
	}
	buf, err := base64.StdEncoding.DecodeString(s.NexoBlob)
	if err != nil || len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, Key{}, envErr(ErrBadEnvelope, "NexoBlob is not base64 of whole AES blocks")
	}
	block, err := aes.NewCipher(k.cipherKey)
	if err != nil {
		return nil, Key{}, envErr(ErrBadEnvelope, err.Error())
	}
	cipher.NewCBCDecrypter(block, k.messageIV(nonce)).CryptBlocks(buf, buf)
	clear, padOK := unpad(buf)
	if !hmac.Equal(k.mac(clear), mac) || !padOK {
		return nil, Key{}, envErr(ErrAuth, "HMAC does not match (wrong passphrase or altered message)")
	}
	return clear, k, nil
}

// unpad removes PKCS#7 padding; on bad padding it returns buf and false
// (the HMAC is still computed, so both failures take the same path).
func unpad(buf []byte) ([]byte, bool) {
	n := int(buf[len(buf)-1])
	if n == 0 || n > aes.BlockSize {
		return buf, false
	}
	for _, b := range buf[len(buf)-n:] {
		if int(b) != n {
			return buf, false
		}
	}
	return buf[:len(buf)-n], true
}

// Envelope errors.
var (
	ErrBadEnvelope = errors.New("nexo: malformed secured message")
	ErrUnknownKey  = errors.New("nexo: unknown key")
	ErrAuth        = errors.New("nexo: message authentication failed")
)

// EnvelopeError says what was wrong with a secured message. It never holds
// key material or clear text.
type EnvelopeError struct {
	Err    error // ErrBadEnvelope, ErrUnknownKey or ErrAuth
	Detail string
}

func (e *EnvelopeError) Error() string { return e.Err.Error() + ": " + e.Detail }
func (e *EnvelopeError) Unwrap() error { return e.Err }

func envErr(err error, detail string) error { return &EnvelopeError{Err: err, Detail: detail} }
