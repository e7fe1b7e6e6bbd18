package nexo

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "regenerate golden files (envelope vectors need node and npm ci in testdata/adyen-client)")

const vectorsFile = "testdata/envelope-vectors.golden.json"

type vector struct {
	Name          string `json:"name"`
	Passphrase    string `json:"passphrase"`
	KeyIdentifier string `json:"keyIdentifier"`
	KeyVersion    int    `json:"keyVersion"`
	HmacKey       string `json:"hmacKey"`
	CipherKey     string `json:"cipherKey"`
	IV            string `json:"iv"`
	Clear         string `json:"clear"`
	Secured       struct {
		SaleToPOIRequest Secured `json:"SaleToPOIRequest"`
	} `json:"secured"`
}

// loadVectors reads the vectors Adyen's Node library produced
// (testdata/adyen-client/vectors.js); -update makes them again.
func loadVectors(t testing.TB) []vector {
	t.Helper()
	if *update {
		cmd := exec.Command("node", "vectors.js")
		cmd.Dir = filepath.Join("testdata", "adyen-client")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node vectors.js: %v", err)
		}
		if err := os.WriteFile(vectorsFile, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	return vs
}

func TestGoldenAdyenVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			k, err := DeriveKey(v.KeyIdentifier, v.KeyVersion, v.Passphrase)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name string
				got  []byte
				want string
			}{{"hmac key", k.hmacKey, v.HmacKey}, {"cipher key", k.cipherKey, v.CipherKey}, {"iv", k.iv, v.IV}} {
				if hex.EncodeToString(c.got) != c.want {
					t.Errorf("%s = %x, Adyen's library derives %s", c.name, c.got, c.want)
				}
			}
			ring, _ := NewKeyring(k)
			clear, used, err := ring.Open(v.Secured.SaleToPOIRequest)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if string(clear) != v.Clear || used.Identifier != v.KeyIdentifier {
				t.Fatalf("Open = %q with %v, want %q", clear, used, v.Clear)
			}
			// Same nonce: Go seals byte for byte what Adyen's library sealed.
			tr := v.Secured.SaleToPOIRequest.SecurityTrailer
			nonce, _ := base64.StdEncoding.DecodeString(tr.Nonce)
			s, err := sealNonce(v.Secured.SaleToPOIRequest.MessageHeader, []byte(v.Clear), k, nonce)
			if err != nil {
				t.Fatal(err)
			}
			if s.NexoBlob != v.Secured.SaleToPOIRequest.NexoBlob || s.SecurityTrailer.Hmac != tr.Hmac {
				t.Errorf("sealNonce differs from Adyen's NexoCrypto.encrypt:\n got %s %s\nwant %s %s", s.NexoBlob, s.SecurityTrailer.Hmac, v.Secured.SaleToPOIRequest.NexoBlob, tr.Hmac)
			}
			// And the decoded request is a request.
			if v.Name == "payment" {
				req, err := DecodeRequest(clear)
				if err != nil || req.Payment == nil || req.Payment.PaymentTransaction.AmountsReq.RequestedAmount != "10.99" {
					t.Fatalf("DecodeRequest = %+v, %v", req, err)
				}
			}
		})
	}
}

func testKey(t testing.TB, id string, version int, pass string) Key {
	t.Helper()
	k, err := DeriveKey(id, version, pass)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := testKey(t, "K", 1, "secret")
	ring, err := NewKeyring(k, testKey(t, "K", 2, "other"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 15, 16, 17, 1000} {
		clear := []byte(strings.Repeat("x", n))
		s, err := Seal(json.RawMessage(`{}`), clear, k)
		if err != nil {
			t.Fatal(err)
		}
		got, used, err := ring.Open(s)
		if err != nil || string(got) != string(clear) || used.Version != 1 {
			t.Fatalf("len %d: Open = %q, %v, %v", n, got, used, err)
		}
	}
	if s := fmt.Sprintf("%v %+v %#v %s", k, k, k, k); strings.Contains(s, hex.EncodeToString(k.hmacKey)[:8]) || strings.Contains(s, "secret") {
		t.Fatalf("key material printed: %s", s)
	}
}

func TestEnvelopeErrors(t *testing.T) {
	k := testKey(t, "K", 1, "secret")
	ring, _ := NewKeyring(k)
	good, err := Seal(json.RawMessage(`{}`), []byte(`{"SaleToPOIRequest":{}}`), k)
	if err != nil {
		t.Fatal(err)
	}
	// A blob whose padding is wrong but whose HMAC is over the same bytes:
	// must fail exactly like a wrong HMAC.
	badPad := func() Secured {
		s := good
		tr := *s.SecurityTrailer
		nonce, _ := base64.StdEncoding.DecodeString(tr.Nonce)
		plain := []byte("0123456789abcdef") // last byte 'f' is not valid padding
		buf := make([]byte, len(plain))
		block, _ := aes.NewCipher(k.cipherKey)
		cipher.NewCBCEncrypter(block, k.messageIV(nonce)).CryptBlocks(buf, plain)
		s.NexoBlob = base64.StdEncoding.EncodeToString(buf)
		tr.Hmac = base64.StdEncoding.EncodeToString(k.mac(plain))
		s.SecurityTrailer = &tr
		return s
	}
	mod := func(f func(s *Secured, tr *SecurityTrailer)) Secured {
		s := good
		tr := *good.SecurityTrailer
		s.SecurityTrailer = &tr
		f(&s, &tr)
		return s
	}
	flip := func(b64 string, i int) string {
		b, _ := base64.StdEncoding.DecodeString(b64)
		b[i] ^= 1
		return base64.StdEncoding.EncodeToString(b)
	}
	wrongPass, _ := Seal(nil, []byte(`{}`), testKey(t, "K", 1, "not the secret"))
	cases := []struct {
		name string
		s    Secured
		want error
	}{
		{"no trailer", mod(func(s *Secured, _ *SecurityTrailer) { s.SecurityTrailer = nil }), ErrBadEnvelope},
		{"crypto version 2", mod(func(_ *Secured, tr *SecurityTrailer) { tr.AdyenCryptoVersion = 2 }), ErrBadEnvelope},
		{"unknown key id", mod(func(_ *Secured, tr *SecurityTrailer) { tr.KeyIdentifier = "X" }), ErrUnknownKey},
		{"unknown key version", mod(func(_ *Secured, tr *SecurityTrailer) { tr.KeyVersion = 9 }), ErrUnknownKey},
		{"nonce not base64", mod(func(_ *Secured, tr *SecurityTrailer) { tr.Nonce = "!!!" }), ErrBadEnvelope},
		{"nonce 8 bytes", mod(func(_ *Secured, tr *SecurityTrailer) { tr.Nonce = base64.StdEncoding.EncodeToString(make([]byte, 8)) }), ErrBadEnvelope},
		{"hmac not base64", mod(func(_ *Secured, tr *SecurityTrailer) { tr.Hmac = "%%" }), ErrBadEnvelope},
		{"hmac 16 bytes", mod(func(_ *Secured, tr *SecurityTrailer) { tr.Hmac = base64.StdEncoding.EncodeToString(make([]byte, 16)) }), ErrBadEnvelope},
		{"blob not base64", mod(func(s *Secured, _ *SecurityTrailer) { s.NexoBlob = "not base64!" }), ErrBadEnvelope},
		{"blob empty", mod(func(s *Secured, _ *SecurityTrailer) { s.NexoBlob = "" }), ErrBadEnvelope},
		{"blob 15 bytes", mod(func(s *Secured, _ *SecurityTrailer) { s.NexoBlob = base64.StdEncoding.EncodeToString(make([]byte, 15)) }), ErrBadEnvelope},
		{"blob too long", mod(func(s *Secured, _ *SecurityTrailer) {
			s.NexoBlob = base64.StdEncoding.EncodeToString(make([]byte, MaxMessage+64))
		}), ErrBadEnvelope},
		{"ciphertext altered", mod(func(s *Secured, _ *SecurityTrailer) { s.NexoBlob = flip(s.NexoBlob, 0) }), ErrAuth},
		{"nonce altered", mod(func(_ *Secured, tr *SecurityTrailer) { tr.Nonce = flip(tr.Nonce, 3) }), ErrAuth},
		{"hmac altered", mod(func(_ *Secured, tr *SecurityTrailer) { tr.Hmac = flip(tr.Hmac, 31) }), ErrAuth},
		{"wrong passphrase", wrongPass, ErrAuth},
		{"bad padding", badPad(), ErrAuth},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clear, _, err := ring.Open(c.s)
			if !errors.Is(err, c.want) || clear != nil {
				t.Fatalf("Open = %q, %v; want %v", clear, err, c.want)
			}
			var ee *EnvelopeError
			if !errors.As(err, &ee) || ee.Detail == "" {
				t.Fatalf("error %T %v is not an *EnvelopeError with detail", err, err)
			}
		})
	}
	var nilRing *Keyring
	if _, _, err := nilRing.Open(good); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("nil keyring: %v", err)
	}
}

func TestDeriveKeyErrors(t *testing.T) {
	for _, c := range []struct {
		id      string
		version int
		pass    string
	}{{"", 1, "p"}, {strings.Repeat("k", MaxKeyID+1), 1, "p"}, {"K", -1, "p"}, {"K", 1, ""}, {"K", 1, strings.Repeat("p", MaxPassphrase+1)}} {
		if _, err := DeriveKey(c.id, c.version, c.pass); err == nil {
			t.Errorf("DeriveKey(%.8q, %d, len %d) accepted", c.id, c.version, len(c.pass))
		}
	}
	k := testKey(t, "K", 1, "p")
	if _, err := NewKeyring(k, k); err == nil {
		t.Fatal("duplicate key accepted")
	}
	if _, err := NewKeyring(Key{Identifier: "K"}); err == nil {
		t.Fatal("underived key accepted")
	}
}
