package uplink

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// TLSFiles names the PEM files of a mutually authenticated connection.
type TLSFiles struct {
	CAFile     string // CA that signed the acquirer's server certificate
	CertFile   string // this terminal's client certificate
	KeyFile    string // its private key
	ServerName string // expected name in the server certificate ("" = host of Addr)
	// Pins are SHA-256 hashes of the acquirer's SubjectPublicKeyInfo, hex or
	// base64 ("sha256/..." accepted). When set, the server's leaf key must
	// match one of them in addition to chaining to CAFile.
	Pins []string
}

// PinError is a pinning failure: the server's key matched no pin.
type PinError struct {
	Got string // base64 SHA-256 of the server's SubjectPublicKeyInfo
}

func (e *PinError) Error() string {
	return "uplink: server public key sha256/" + e.Got + " matches no configured pin"
}

// Unwrap returns ErrPinMismatch.
func (e *PinError) Unwrap() error { return ErrPinMismatch }

// SPKIHash returns the SHA-256 of a certificate's SubjectPublicKeyInfo, the
// value a pin holds.
func SPKIHash(cert *x509.Certificate) [32]byte {
	return sha256.Sum256(cert.RawSubjectPublicKeyInfo)
}

// ParsePin decodes a pin given as hex (64 digits) or base64, optionally
// prefixed with "sha256/".
func ParsePin(s string) ([32]byte, error) {
	var out [32]byte
	s = strings.TrimPrefix(strings.TrimSpace(s), "sha256/")
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		copy(out[:], b)
		return out, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		copy(out[:], b)
		return out, nil
	}
	return out, fmt.Errorf("uplink: pin %q is not a SHA-256 in hex or base64", s)
}

// Load builds the client tls.Config: TLS 1.2 minimum, the client
// certificate, the CA pool and the pins.
func (f TLSFiles) Load() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("uplink: loading client certificate: %w", err)
	}
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(f.CAFile)
	if err != nil {
		return nil, fmt.Errorf("uplink: reading CA: %w", err)
	}
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("uplink: no certificate in CA file %s", f.CAFile)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ServerName:   f.ServerName,
	}
	if len(f.Pins) > 0 {
		pins := make([][32]byte, 0, len(f.Pins))
		for _, p := range f.Pins {
			h, err := ParsePin(p)
			if err != nil {
				return nil, err
			}
			pins = append(pins, h)
		}
		PinServerKeys(cfg, pins...)
	}
	return cfg, nil
}

// PinServerKeys makes cfg refuse a server whose leaf public key hash is not
// one of pins (checked after the normal chain verification).
func PinServerKeys(cfg *tls.Config, pins ...[32]byte) {
	prev := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if prev != nil {
			if err := prev(cs); err != nil {
				return err
			}
		}
		if len(cs.PeerCertificates) == 0 {
			return &PinError{Got: "(no certificate)"}
		}
		got := SPKIHash(cs.PeerCertificates[0])
		for _, p := range pins {
			if subtle.ConstantTimeCompare(got[:], p[:]) == 1 {
				return nil
			}
		}
		return &PinError{Got: base64.StdEncoding.EncodeToString(got[:])}
	}
}
