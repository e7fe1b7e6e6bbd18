package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"posagent/agent"
)

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the API's OpenAPI 3.1 description (served at
// GET /v1/openapi.yaml).
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// maxBody bounds every request body.
const maxBody = 64 << 10

// Options configures a Server. Token is required; the rest has defaults.
type Options struct {
	// Token is the bearer token every /v1 route (and /metrics) requires.
	Token string
	// PaymentTimeout is how long POST /v1/payments blocks for the final
	// result before it answers 202 with the current state. Default 90 s.
	PaymentTimeout time.Duration
	// Heartbeat is the interval of SSE comment lines on GET /v1/events.
	// Default 15 s.
	Heartbeat time.Duration
	// Metrics is served at /metrics; nil serves a fresh NewMetrics(engine).
	Metrics *Metrics
	// Ready reports whether the daemon can take payments (GET /readyz);
	// nil means ready.
	Ready func() error
	// Mounts are extra handlers cmd/ adds beside the API (web pages, nexo).
	Mounts []Mount
	// Logger receives one line per request (never bodies); nil discards.
	Logger *slog.Logger
	// Now is the clock (default time.Now): the default cut-off of totals.
	Now func() time.Time
}

// Mount is an extra handler served by the same listeners.
type Mount struct {
	// Pattern is an http.ServeMux pattern ("/display/", "POST /nexo").
	Pattern string
	Handler http.Handler
	// Public serves the handler without the bearer token check (a
	// customer display page); otherwise Auth.Require wraps it.
	Public bool
}

// Server is the local API: an http.Handler over an Engine.
type Server struct {
	eng     Engine
	opts    Options
	auth    *Auth
	mux     *http.ServeMux
	metrics *Metrics
	log     *slog.Logger

	stopOnce sync.Once
	stopped  chan struct{} // closed when event streams must end
}

// New builds the route table.
func New(eng Engine, opts Options) (*Server, error) {
	if eng == nil {
		return nil, errors.New("posagent api: nil engine")
	}
	auth, err := NewAuth(opts.Token)
	if err != nil {
		return nil, err
	}
	if opts.PaymentTimeout <= 0 {
		opts.PaymentTimeout = 90 * time.Second
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{eng: eng, opts: opts, auth: auth, mux: http.NewServeMux(), metrics: opts.Metrics, log: opts.Logger,
		stopped: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = NewMetrics(eng)
	}
	private := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, auth.Require(h)) }
	public := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, h) }

	public("GET /healthz", s.healthz)
	public("GET /readyz", s.readyz)
	public("GET /v1/openapi.yaml", s.openapi)
	s.mux.Handle("GET /metrics", auth.Require(s.metrics.Handler()))

	private("POST /v1/payments", s.pay)
	private("GET /v1/payments/{id}", s.get)
	private("POST /v1/payments/{id}/abort", s.abort)
	private("POST /v1/payments/{id}/void", s.void)
	private("POST /v1/payments/{id}/capture", s.capture)
	private("POST /v1/refunds", s.refund)
	private("GET /v1/totals", s.totals)
	private("GET /v1/status", s.status)
	private("GET /v1/queue", s.queue)
	private("POST /v1/queue/forward", s.forward)
	private("GET /v1/events", s.events)
	// Anything else under /v1: the token first, then a JSON 404/405.
	private("/v1/", s.notFound)

	for _, m := range opts.Mounts {
		if m.Handler == nil || m.Pattern == "" {
			return nil, fmt.Errorf("posagent api: mount %q without a handler", m.Pattern)
		}
		h := m.Handler
		if !m.Public {
			h = auth.Require(h)
		}
		if err := register(s.mux, m.Pattern, h); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// register adds a pattern, turning ServeMux's panic on a conflicting
// pattern into an error.
func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("posagent api: mount %q: %v", pattern, r)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// stopStreams ends every event stream (the HTTP server is shutting down).
func (s *Server) stopStreams() { s.stopOnce.Do(func() { close(s.stopped) }) }

// Auth returns the server's token check, for handlers mounted elsewhere.
func (s *Server) Auth() *Auth { return s.auth }

// Metrics returns the metrics the server exposes (the engine's Observer).
func (s *Server) Metrics() *Metrics { return s.metrics }

// ServeHTTP serves the route table.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rw, r)
	s.log.Debug("api request", "method", r.Method, "path", r.URL.Path, "status", rw.status, "duration", time.Since(start))
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// Flush lets SSE reach the client through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no route " + r.Method + " " + r.URL.Path})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not_ready", "reason": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(openAPI)
}

// PaymentBody is the body of POST /v1/payments.
type PaymentBody struct {
	ID        string              `json:"id"`
	Amount    int64               `json:"amount"`
	Currency  string              `json:"currency"`
	Reference string              `json:"reference,omitempty"`
	Offline   agent.OfflinePolicy `json:"offline,omitempty"`
	Capture   agent.Capture       `json:"capture,omitempty"`
	Reader    string              `json:"reader,omitempty"`
	// Wait false answers 202 at once; default true (block for the result).
	Wait *bool `json:"wait,omitempty"`
}

// RefundBody is the body of POST /v1/refunds.
type RefundBody struct {
	ID        string `json:"id"`
	PaymentID string `json:"payment_id"`
	Amount    int64  `json:"amount"`
}

// CaptureBody is the body of POST /v1/payments/{id}/capture.
type CaptureBody struct {
	Amount int64 `json:"amount"`
}

// QueueList is the body of GET /v1/queue.
type QueueList struct {
	Entries []QueueEntry `json:"entries"`
}

// Forwarded is the body of POST /v1/queue/forward.
type Forwarded struct {
	Forwarded int `json:"forwarded"`
}

func (s *Server) pay(w http.ResponseWriter, r *http.Request) {
	var b PaymentBody
	if e := decode(r, &b); e != nil {
		WriteError(w, e)
		return
	}
	req := agent.PaymentRequest{ID: b.ID, Amount: b.Amount, Currency: b.Currency, Reference: b.Reference,
		Offline: b.Offline, Capture: b.Capture, Reader: b.Reader}
	p, err := s.eng.Start(r.Context(), req)
	if err != nil {
		WriteError(w, ErrorFor(err))
		return
	}
	if (b.Wait == nil || *b.Wait) && !p.State.Final() {
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.PaymentTimeout)
		p, err = s.eng.Wait(ctx, b.ID)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			WriteError(w, ErrorFor(err))
			return
		}
	}
	writePayment(w, p)
}

// writePayment answers 200 for a final payment, 202 (with Location) for
// one still running.
func writePayment(w http.ResponseWriter, p agent.Payment) {
	status := http.StatusOK
	if !p.State.Final() {
		status = http.StatusAccepted
		w.Header().Set("Location", "/v1/payments/"+p.ID)
	}
	writeJSON(w, status, p)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	p, err := s.eng.Get(r.PathValue("id"))
	if err != nil {
		WriteError(w, ErrorFor(err))
		return
	}
	writePayment(w, p)
}

func (s *Server) abort(w http.ResponseWriter, r *http.Request) {
	s.operate(w, r, func(ctx context.Context, id string) (agent.Payment, error) { return s.eng.Abort(ctx, id) })
}

func (s *Server) void(w http.ResponseWriter, r *http.Request) {
	s.operate(w, r, func(ctx context.Context, id string) (agent.Payment, error) { return s.eng.Void(ctx, id) })
}

func (s *Server) capture(w http.ResponseWriter, r *http.Request) {
	var b CaptureBody
	if e := decode(r, &b); e != nil {
		WriteError(w, e)
		return
	}
	s.operate(w, r, func(ctx context.Context, id string) (agent.Payment, error) { return s.eng.Capture(ctx, id, b.Amount) })
}

// operate runs an operation on the payment in the path, bounded by the
// payment timeout; the answer is the payment as the operation left it.
func (s *Server) operate(w http.ResponseWriter, r *http.Request, op func(context.Context, string) (agent.Payment, error)) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.PaymentTimeout)
	defer cancel()
	p, err := op(ctx, r.PathValue("id"))
	if err != nil {
		WriteError(w, ErrorFor(err))
		return
	}
	writePayment(w, p)
}

func (s *Server) refund(w http.ResponseWriter, r *http.Request) {
	var b RefundBody
	if e := decode(r, &b); e != nil {
		WriteError(w, e)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.PaymentTimeout)
	defer cancel()
	p, err := s.eng.Refund(ctx, agent.RefundRequest{ID: b.ID, PaymentID: b.PaymentID, Amount: b.Amount})
	if err != nil {
		WriteError(w, ErrorFor(err))
		return
	}
	writePayment(w, p)
}

func (s *Server) totals(w http.ResponseWriter, r *http.Request) {
	since, e := s.since(r.URL.Query().Get("since"))
	if e != nil {
		WriteError(w, e)
		return
	}
	t, err := s.eng.Totals(since)
	if err != nil {
		WriteError(w, ErrorFor(err))
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// since parses the totals cut-off: RFC 3339, or a date (YYYY-MM-DD, local
// midnight); empty means today's local midnight.
func (s *Server) since(v string) (time.Time, *Error) {
	now := s.opts.Now()
	if v == "" {
		y, m, d := now.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, now.Location()), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, now.Location()); err == nil {
		return t, nil
	}
	return time.Time{}, &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Field: "since",
		Message: "since: want RFC 3339 (2026-12-01T00:00:00Z) or a date (2026-12-01)"}
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.eng.Status())
}

func (s *Server) queue(w http.ResponseWriter, r *http.Request) {
	es, err := s.eng.QueueEntries()
	if err != nil {
		WriteError(w, ErrorFor(err))
		return
	}
	if es == nil {
		es = []QueueEntry{}
	}
	writeJSON(w, http.StatusOK, QueueList{Entries: es})
}

func (s *Server) forward(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.PaymentTimeout)
	defer cancel()
	n, err := s.eng.ForwardNow(ctx)
	if err != nil {
		WriteError(w, ErrorFor(err))
		return
	}
	writeJSON(w, http.StatusOK, Forwarded{Forwarded: n})
}

// events streams Server-Sent Events: every event with its id, its type as
// the event name and its JSON as data; Last-Event-ID (header, or the
// last_event_id query parameter for clients that cannot set headers)
// resumes after that id; comment lines keep idle connections alive.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		WriteError(w, &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "streaming unsupported"})
		return
	}
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	var lastID uint64
	if last != "" {
		n, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			WriteError(w, &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Field: "Last-Event-ID", Message: "Last-Event-ID: want a decimal event id"})
			return
		}
		lastID = n
	}
	ch, cancel := s.eng.Subscribe(lastID)
	defer cancel()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "retry: 2000\n\n")
	fl.Flush()
	tick := time.NewTicker(s.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stopped:
			return
		case <-tick.C:
			if _, err := io.WriteString(w, ": heartbeat\n\n"); err != nil {
				return
			}
			fl.Flush()
		case ev, ok := <-ch:
			if !ok {
				return
			}
			data, err := json.Marshal(ev)
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, sseName(ev.Type), data); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

// sseName keeps an event type on one line of the stream.
func sseName(t string) string {
	if t == "" || strings.ContainsAny(t, "\r\n") {
		return "message"
	}
	return t
}

// decode reads one JSON object into v: content type JSON (or none),
// at most maxBody bytes, no unknown fields, nothing after the object.
func decode(r *http.Request, v any) *Error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupported, Message: "want Content-Type: application/json"}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}
	if err == nil {
		if _, e := dec.Token(); e != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	if err == nil {
		return nil
	}
	var mbe *http.MaxBytesError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Message: fmt.Sprintf("body larger than %d bytes", maxBody)}
	case errors.As(err, &te):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Field: te.Field, Message: fmt.Sprintf("%s: want %s, got %s", te.Field, te.Type, te.Value)}
	case errors.As(err, &se):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: fmt.Sprintf("malformed JSON at byte %d", se.Offset)}
	case errors.Is(err, io.EOF):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: "empty body: want a JSON object"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Field: f, Message: "unknown field " + strconv.Quote(f)}
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: "malformed JSON: " + err.Error()}
}
