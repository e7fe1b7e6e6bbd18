package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"posagent/agent"
)

//go:embed static
var staticFiles embed.FS

// Engine is what the pages need from the transaction engine (agent.Engine
// has these methods).
type Engine interface {
	// Subscribe replays the kept events after lastID, then live ones.
	Subscribe(lastID uint64) (events <-chan agent.Event, cancel func())
	// Get returns one payment.
	Get(id string) (agent.Payment, error)
	// List returns the payments created since a time, newest first.
	List(since time.Time, limit int) ([]agent.Payment, error)
}

// QRFunc returns the PNG of a payment's merchant-presented code.
type QRFunc func(ctx context.Context, paymentID string) ([]byte, error)

// Options configures the pages. Engine and Authorize are required; the rest
// has working zero values.
type Options struct {
	Engine Engine
	// Authorize reports whether a request carries the local API's bearer
	// token. It guards the console-only routes (pairing codes). nil denies.
	Authorize func(*http.Request) bool
	// QR renders a merchant-presented payment's code for the display; nil
	// means the display shows no code. See QRFromAPI.
	QR QRFunc
	// QRWithCard shows the payment's merchant-presented code beside
	// "present card" on every payment waiting for a card (tap or scan), not
	// only on payments the engine marks as QR payments.
	QRWithCard bool
	// Merchant is the name shown on the display.
	Merchant string
	// Lang is the display's language ("en", "zh-Hant", "zh-Hans"); "" lets
	// the browser choose.
	Lang string
	// DisplayKey is the secret display tokens are signed under (16 bytes
	// or more; the signing key is derived from it, so the API token or the
	// device secret will do). nil means a random key per process: paired
	// displays then pair again after a restart. Changing it unpairs every
	// display.
	DisplayKey []byte
	// Logger; nil discards.
	Logger *slog.Logger

	// Heartbeat is the interval of SSE keep-alive comments (default 15 s).
	Heartbeat time.Duration
	// CodeTTL is how long a pairing code may be used (default 5 min).
	CodeTTL time.Duration
	now     func() time.Time // test hook
}

// Patterns are the paths Server answers, for mounting it on the API's mux.
var Patterns = []string{"/display", "/display/", "/console", "/console/", "/web/"}

// Server serves the pages and their routes. It is an http.Handler.
type Server struct {
	opts   Options
	mux    *http.ServeMux
	pair   *pairing
	static http.Handler
}

// ErrOptions is returned by New when a required option is missing.
var ErrOptions = errors.New("web: Engine is required")

// New returns the pages' handler.
func New(opts Options) (*Server, error) {
	if opts.Engine == nil {
		return nil, ErrOptions
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.CodeTTL <= 0 {
		opts.CodeTTL = 5 * time.Minute
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	secret := opts.DisplayKey
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	} else if len(secret) < 16 {
		return nil, errors.New("web: DisplayKey must be at least 16 bytes")
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("posagent display token key v1"))
	key := m.Sum(nil)
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), pair: newPairing(key, opts.CodeTTL, opts.now)}
	s.static = http.FileServerFS(sub)
	s.mux.HandleFunc("GET /display", s.page("display.html"))
	s.mux.HandleFunc("GET /display/{$}", s.page("display.html"))
	s.mux.HandleFunc("GET /console", s.page("console.html"))
	s.mux.HandleFunc("GET /console/{$}", s.page("console.html"))
	s.mux.Handle("GET /web/", http.StripPrefix("/web", s.staticHandler()))
	s.mux.HandleFunc("GET /display/config", s.displayConfig)
	s.mux.HandleFunc("GET /display/events", s.displayOnly(s.displayEvents))
	s.mux.HandleFunc("GET /display/qr/{id}", s.displayOnly(s.displayQR))
	s.mux.HandleFunc("POST /display/pair", s.displayPair)
	s.mux.HandleFunc("POST /display/unpair", s.displayUnpair)
	s.mux.HandleFunc("POST /display/codes", s.consoleOnly(s.newCode))
	s.mux.HandleFunc("GET /console/payments", s.consoleOnly(s.listPayments))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

func (s *Server) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := staticFiles.ReadFile("static/" + name)
		if err != nil {
			writeError(w, http.StatusNotFound, "not_found", "no such page")
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		h.Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}

func (s *Server) staticHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || strings.HasSuffix(r.URL.Path, ".html") {
			writeError(w, http.StatusNotFound, "not_found", "no such file")
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		s.static.ServeHTTP(w, r)
	})
}

// displayConfig tells the display page who it is showing and whether it may
// read the stream. It holds nothing secret.
func (s *Server) displayConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"merchant":     s.opts.Merchant,
		"lang":         s.opts.Lang,
		"authorized":   s.displayAllowed(r),
		"qr":           s.opts.QR != nil,
		"qr_with_card": s.opts.QR != nil && s.opts.QRWithCard,
	})
}

// displayAllowed: loopback browser asking for a loopback host, or a valid
// display token.
func (s *Server) displayAllowed(r *http.Request) bool {
	if loopbackRequest(r) {
		return true
	}
	c, err := r.Cookie(cookieName)
	return err == nil && s.pair.validToken(c.Value)
}

// loopbackRequest reports whether the peer is on loopback and the Host it
// asked for names loopback too (a page on another site that rebinds its
// name to 127.0.0.1 does not qualify).
func loopbackRequest(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return false
	}
	h := r.Host
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	hip := net.ParseIP(h)
	return hip != nil && hip.IsLoopback()
}

func (s *Server) displayOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.displayAllowed(r) {
			writeError(w, http.StatusUnauthorized, "unauthorized", "this display is not paired")
			return
		}
		h(w, r)
	}
}

func (s *Server) consoleOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Authorize == nil || !s.opts.Authorize(r) {
			writeError(w, http.StatusUnauthorized, "unauthorized", "bearer token required")
			return
		}
		h(w, r)
	}
}

// displayQR serves the code of a merchant-presented payment while it is in
// flight; a final payment's code is gone.
func (s *Server) displayQR(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSuffix(r.PathValue("id"), ".png")
	if s.opts.QR == nil {
		writeError(w, http.StatusNotFound, "not_found", "no merchant-presented codes on this agent")
		return
	}
	p, err := s.opts.Engine.Get(id)
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "no such payment")
		return
	}
	if p.State.Final() {
		writeError(w, http.StatusGone, "gone", "the payment is "+string(p.State))
		return
	}
	png, err := s.opts.QR(r.Context(), id)
	if err != nil {
		s.opts.Logger.Warn("display qr", "payment", id, "err", err)
		writeError(w, http.StatusNotFound, "not_found", "no code for this payment")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(png)
}

// listPayments (console, bearer token): GET /console/payments?since=RFC3339&limit=N,
// the payments list the local API has no route for.
func (s *Server) listPayments(w http.ResponseWriter, r *http.Request) {
	since := s.opts.now().Add(-24 * time.Hour)
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", "since: want RFC 3339")
			return
		}
		since = t
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "invalid_request", "limit: want 1..1000")
			return
		}
		limit = n
	}
	list, err := s.opts.Engine.List(since, limit)
	if err != nil {
		s.opts.Logger.Warn("console list", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "listing payments failed")
		return
	}
	if list == nil {
		list = []agent.Payment{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"payments": list})
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Code: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
