package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"posagent/agent"
)

// DisplayEvent is what the customer display receives: one engine event with
// everything a customer may not see removed.
type DisplayEvent struct {
	ID       uint64      `json:"id"`
	Type     string      `json:"type"` // "prompt" or "state"
	Payment  string      `json:"payment,omitempty"`
	State    agent.State `json:"state,omitempty"`
	Prompt   string      `json:"prompt,omitempty"`
	Amount   int64       `json:"amount,omitempty"`
	Currency string      `json:"currency,omitempty"`
	Kind     agent.Kind  `json:"kind,omitempty"`
	Last4    string      `json:"last4,omitempty"` // of the masked PAN, on a final card payment
	QR       bool        `json:"qr,omitempty"`    // a merchant-presented code is to be shown
	At       time.Time   `json:"at"`
}

// EntryQRMerchant is the entry mode of a merchant-presented QR payment.
const EntryQRMerchant = "qr_merchant"

// qrPrompts ask the customer to scan the merchant's code on the display.
// (scan_code is the other way round: the scanner waits for the customer's
// code, and the display says so.)
var qrPrompts = map[string]bool{"scan_qr": true, "show_qr": true, "qr_shown": true}

// displayEvent filters one engine event. ok is false for an event the
// display must not see (queue news, offline declines, unknown types).
// get looks the payment up for facts the event does not carry.
func displayEvent(e agent.Event, get func(string) (agent.Payment, error)) (DisplayEvent, bool) {
	if e.Type != "prompt" && e.Type != "state" {
		return DisplayEvent{}, false
	}
	d := DisplayEvent{ID: e.ID, Type: e.Type, Payment: e.Payment, State: e.State, Amount: e.Amount, Currency: safeCurrency(e.Currency), At: e.At}
	if e.Type == "prompt" {
		d.Prompt = safeWord(e.Prompt)
		if d.Prompt == "" {
			return DisplayEvent{}, false
		}
		d.QR = qrPrompts[d.Prompt]
	}
	if d.Payment != "" && agent.ValidID(d.Payment) != nil {
		return DisplayEvent{}, false
	}
	if d.Payment == "" || get == nil {
		return d, true
	}
	p, err := get(d.Payment)
	if err != nil {
		return d, true
	}
	d.Kind = p.Kind
	if d.Amount == 0 {
		d.Amount, d.Currency = p.Amount, safeCurrency(p.Currency)
	}
	if p.EntryMode == EntryQRMerchant && !p.State.Final() {
		d.QR = true
	}
	if p.State.Final() && d.State != "" {
		d.Last4 = lastFour(p.MaskedPAN)
	}
	return d, true
}

// snapshotEvent is a payment's current state as a display event (ID 0:
// not in the stream, so it moves no Last-Event-ID).
func snapshotEvent(p agent.Payment) DisplayEvent {
	d, _ := displayEvent(agent.Event{Type: "state", Payment: p.ID, State: p.State, Amount: p.Amount, Currency: p.Currency, At: p.Updated},
		func(string) (agent.Payment, error) { return p, nil })
	return d
}

// lastFour returns the last four digits of a masked PAN, or "" when its
// tail is not four digits.
func lastFour(masked string) string {
	if len(masked) < 4 {
		return ""
	}
	t := masked[len(masked)-4:]
	for i := 0; i < 4; i++ {
		if t[i] < '0' || t[i] > '9' {
			return ""
		}
	}
	return t
}

// safeWord passes engine constants such as "present_card" and nothing else.
func safeWord(s string) string {
	if len(s) == 0 || len(s) > 40 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && c != '_' {
			return ""
		}
	}
	return s
}

func safeCurrency(s string) string {
	if len(s) != 3 || strings.ToUpper(s) != s || strings.ContainsFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' }) {
		return ""
	}
	return s
}

// parseLastEventID reads the Last-Event-ID header: "" is 0, anything that
// is not a decimal uint64 is an error.
func parseLastEventID(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if len(s) > 20 {
		return 0, fmt.Errorf("web: Last-Event-ID too long")
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("web: Last-Event-ID %q: not a number", s)
	}
	return n, nil
}

// displayEvents streams display-safe events as SSE, resuming after
// Last-Event-ID.
func (s *Server) displayEvents(w http.ResponseWriter, r *http.Request) {
	last, err := parseLastEventID(r.Header.Get("Last-Event-ID"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// A write deadline set by the API server would cut a long stream.
	rc.SetWriteDeadline(time.Time{})
	events, cancel := s.opts.Engine.Subscribe(last)
	defer cancel()
	fmt.Fprint(w, "retry: 1000\n: posagent display stream\n\n")
	// The payment the display shows, as it is now: what happened while the
	// display was away may not be in the replay (a restart settles the
	// payment left in flight).
	if id := r.URL.Query().Get("payment"); id != "" && agent.ValidID(id) == nil {
		if p, err := s.opts.Engine.Get(id); err == nil {
			b, _ := json.Marshal(snapshotEvent(p))
			fmt.Fprintf(w, "event: state\ndata: %s\n\n", b)
		}
	}
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(s.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
		case e, ok := <-events:
			if !ok {
				return
			}
			d, show := displayEvent(e, s.opts.Engine.Get)
			if !show {
				// Move the browser's Last-Event-ID on without an event.
				fmt.Fprintf(w, "id: %d\n\n", e.ID)
			} else {
				b, _ := json.Marshal(d)
				fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", d.ID, d.Type, b)
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
