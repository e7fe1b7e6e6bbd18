package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Auth checks the bearer token of a request. Other handlers mounted beside
// the API (web console, nexo) use the same Auth instead of their own check.
type Auth struct {
	sum [32]byte // SHA-256 of the token: compared in constant time, fixed length
}

// NewAuth returns an Auth for token; an empty token is refused.
func NewAuth(token string) (*Auth, error) {
	if len(token) < 16 {
		return nil, errors.New("posagent api: token shorter than 16 characters")
	}
	return &Auth{sum: sha256.Sum256([]byte(token))}, nil
}

// Check reports whether r carries "Authorization: Bearer <token>".
func (a *Auth) Check(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], a.sum[:]) == 1
}

// Require wraps h: a request without the right token gets 401
// {"code":"unauthorized"} and never reaches h.
func (a *Auth) Require(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.Check(r) {
			WriteError(w, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "missing or wrong bearer token"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// LoadOrCreateToken reads the API token from path, or creates it (32
// random bytes, hex, mode 0600, fsync'd) when the file does not exist. A
// token file that group or others can read is refused.
func LoadOrCreateToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		fi, err := os.Stat(path)
		if err != nil {
			return "", err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("posagent api: token file %s has mode %04o, want 0600 or stricter", path, fi.Mode().Perm())
		}
		tok := strings.TrimSpace(string(b))
		if len(tok) < 16 {
			return "", fmt.Errorf("posagent api: token file %s holds fewer than 16 characters", path)
		}
		return tok, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("posagent api: reading token: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("posagent api: creating token: %w", err)
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return tok, nil
}
