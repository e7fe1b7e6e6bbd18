package nexo

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// DefaultListen is where Adyen-integrated POS software expects a terminal:
// port 8443 (their libraries append ":8443/nexo/" to the terminal address).
const DefaultListen = "127.0.0.1:8443"

// Certificate file names inside the key directory.
const (
	CertFileName = "nexo.pem"
	KeyFileName  = "nexo-key.pem"
)

// Config is the nexo part of posagent's configuration. The zero value
// listens on DefaultListen with the key directory's certificate and refuses
// every message until a key is configured (or AllowPlain is set).
type Config struct {
	// Enabled starts the endpoint in `posagent serve` (off by default).
	Enabled    bool        `json:"enabled,omitempty" toml:"enabled"`
	Listen     string      `json:"listen,omitempty" toml:"listen"`
	CertFile   string      `json:"cert_file,omitempty" toml:"cert_file"` // default <key dir>/nexo.pem
	KeyFile    string      `json:"key_file,omitempty" toml:"key_file"`   // default <key dir>/nexo-key.pem
	POIID      string      `json:"poiid,omitempty" toml:"poiid"`         // MessageHeader.POIID of this terminal
	AllowPlain bool        `json:"allow_plain,omitempty" toml:"allow_plain"`
	APIKey     string      `json:"api_key,omitempty" toml:"api_key"`
	Keys       []KeyConfig `json:"keys,omitempty" toml:"keys"`
}

// KeyConfig names a shared passphrase as the POS's SecurityTrailer names
// it (KeyIdentifier, KeyVersion). The passphrase is given inline or, better,
// in a file of its own (first line).
type KeyConfig struct {
	Identifier     string `json:"identifier" toml:"identifier"`
	Version        int    `json:"version" toml:"version"`
	Passphrase     string `json:"passphrase,omitempty" toml:"passphrase"`
	PassphraseFile string `json:"passphrase_file,omitempty" toml:"passphrase_file"`
}

// Keyring derives the configured keys.
func (c Config) Keyring() (*Keyring, error) {
	var keys []Key
	for _, kc := range c.Keys {
		pass := kc.Passphrase
		if kc.PassphraseFile != "" {
			b, err := os.ReadFile(kc.PassphraseFile)
			if err != nil {
				return nil, fmt.Errorf("nexo: key %s v%d: %w", kc.Identifier, kc.Version, err)
			}
			pass, _, _ = strings.Cut(string(b), "\n")
			pass = strings.TrimSuffix(pass, "\r")
		}
		k, err := DeriveKey(kc.Identifier, kc.Version, pass)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return NewKeyring(keys...)
}

// Options turns the configuration into handler options.
func (c Config) Options(log *slog.Logger, health func() Health) (Options, error) {
	ring, err := c.Keyring()
	if err != nil {
		return Options{}, err
	}
	if ring.Len() == 0 && !c.AllowPlain {
		return Options{}, errors.New("nexo: no keys configured and allow_plain is off: every message would be refused")
	}
	return Options{POIID: c.POIID, Keys: ring, AllowPlain: c.AllowPlain, APIKey: c.APIKey, Logger: log, Health: health}, nil
}

// adyenName is the certificate name Adyen's libraries accept for a
// terminal (their checkServerIdentity looks at the subject CN only).
var adyenName = regexp.MustCompile(`^(([a-zA-Z0-9]+-[a-zA-Z0-9]+)|legacy-terminal-certificate)\.(live|test)\.terminal\.adyen\.com$`)

// CertName is the CommonName a terminal certificate for poiid needs so that
// Adyen's libraries accept it: "<POIID>.test.terminal.adyen.com", where the
// POIID is "<model>-<serial>" (one dash, letters and digits).
func CertName(poiid string) (string, error) {
	n := poiid + ".test.terminal.adyen.com"
	if !adyenName.MatchString(n) {
		return "", fmt.Errorf("nexo: POIID %q is not <letters/digits>-<letters/digits>, as Adyen's libraries require of a terminal's certificate name", poiid)
	}
	return n, nil
}

// TLSConfig loads the endpoint's certificate.
func (c Config) TLSConfig(keyDir string) (*tls.Config, error) {
	certFile, keyFile := c.CertFile, c.KeyFile
	if certFile == "" {
		certFile = filepath.Join(keyDir, CertFileName)
	}
	if keyFile == "" {
		keyFile = filepath.Join(keyDir, KeyFileName)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("nexo: loading certificate: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// Open is what the daemon calls: the handler on eng with cfg's keys, and
// the TLS listener with the certificate from cfg or keyDir. The caller runs
// Serve and, on SIGTERM, Shutdown.
func Open(cfg Config, keyDir string, eng Engine, health func() Health, log *slog.Logger) (*Server, error) {
	opts, err := cfg.Options(log, health)
	if err != nil {
		return nil, err
	}
	tc, err := cfg.TLSConfig(keyDir)
	if err != nil {
		return nil, err
	}
	if cfg.POIID != "" && log != nil {
		if _, err := CertName(cfg.POIID); err != nil {
			log.Warn("nexo: Adyen's libraries will refuse this terminal's certificate name", "err", err)
		}
	}
	return Listen(cfg, tc, NewHandler(eng, opts), log)
}

// Server is the TLS listener serving a Handler.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Listen opens the TLS listener (cfg.Listen, default DefaultListen).
func Listen(cfg Config, tlsConf *tls.Config, h http.Handler, log *slog.Logger) (*Server, error) {
	addr := cfg.Listen
	if addr == "" {
		addr = DefaultListen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("nexo: listen %s: %w", addr, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// No WriteTimeout: a Payment answer waits for the card.
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return &Server{srv: srv, ln: tls.NewListener(ln, tlsConf)}, nil
}

// Addr is the address listened on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until Shutdown; it returns nil after a Shutdown.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting and waits for answers in progress until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
