package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	cookieName  = "posagent_display"
	tokenPrefix = "d1."
	codeDigits  = 8
	// maxFailures wrong codes in a row void every open code, so a guesser
	// gets at most that many tries per code the operator made.
	maxFailures  = 5
	maxOpenCodes = 4
)

// pairing keeps the open pairing codes and signs display tokens.
type pairing struct {
	key   []byte
	ttl   time.Duration
	now   func() time.Time
	mu    sync.Mutex
	codes map[string]time.Time // code -> expiry
	fails int
}

func newPairing(key []byte, ttl time.Duration, now func() time.Time) *pairing {
	return &pairing{key: key, ttl: ttl, now: now, codes: map[string]time.Time{}}
}

// newCode makes a single-use code of codeDigits digits.
func (p *pairing) newCode() (string, time.Time, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", time.Time{}, err
	}
	code := fmt.Sprintf("%0*d", codeDigits, n.Int64())
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire()
	for len(p.codes) >= maxOpenCodes { // drop the oldest
		var oldest string
		for c, exp := range p.codes {
			if oldest == "" || exp.Before(p.codes[oldest]) {
				oldest = c
			}
		}
		delete(p.codes, oldest)
	}
	exp := p.now().Add(p.ttl)
	p.codes[code] = exp
	return code, exp, nil
}

func (p *pairing) expire() {
	now := p.now()
	for c, exp := range p.codes {
		if !now.Before(exp) {
			delete(p.codes, c)
		}
	}
}

// redeem uses up a code and returns a display token for it.
func (p *pairing) redeem(code string) (string, bool) {
	code = normaliseCode(code)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire()
	found := ""
	for c := range p.codes {
		if subtle.ConstantTimeCompare([]byte(c), []byte(code)) == 1 {
			found = c
		}
	}
	if found == "" {
		p.fails++
		if p.fails >= maxFailures {
			clear(p.codes)
			p.fails = 0
		}
		return "", false
	}
	delete(p.codes, found)
	p.fails = 0
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", false
	}
	sid := base64.RawURLEncoding.EncodeToString(id)
	return tokenPrefix + sid + "." + p.sign(sid), true
}

// normaliseCode drops the spaces and dashes a person types between groups.
func normaliseCode(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return ""
		}
		if b.Len() > codeDigits {
			return ""
		}
	}
	return b.String()
}

func (p *pairing) sign(id string) string {
	m := hmac.New(sha256.New, p.key)
	io.WriteString(m, "posagent display token v1\x00"+id)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validToken checks a display token's signature.
func (p *pairing) validToken(tok string) bool {
	rest, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok || len(rest) > 128 {
		return false
	}
	id, mac, ok := strings.Cut(rest, ".")
	if !ok || id == "" {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(p.sign(id)))
}

// newCode (console, bearer token): a code to type on a display.
func (s *Server) newCode(w http.ResponseWriter, r *http.Request) {
	code, exp, err := s.pair.newCode()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "no code")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"code": code, "expires": exp.UTC()})
}

// displayPair (display, no auth): exchange a code for the display cookie.
func (s *Server) displayPair(w http.ResponseWriter, r *http.Request) {
	// JSON only: a form on another site cannot post here without a CORS
	// preflight the daemon never answers.
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "bad_request", "Content-Type must be application/json")
		return
	}
	var req struct {
		Code string `json:"code"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1024)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "body must be {\"code\": \"...\"}")
		return
	}
	tok, ok := s.pair.redeem(req.Code)
	if !ok {
		s.opts.Logger.Warn("display pairing refused", "remote", r.RemoteAddr)
		writeError(w, http.StatusForbidden, "bad_code", "unknown or expired pairing code")
		return
	}
	s.opts.Logger.Info("display paired", "remote", r.RemoteAddr)
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: tok, Path: "/display",
		MaxAge: 400 * 24 * 3600, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	writeJSON(w, http.StatusOK, map[string]any{"paired": true})
}

// displayUnpair forgets this browser's display cookie.
func (s *Server) displayUnpair(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/display", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}
