package offline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a Sender that records sends and answers from a table.
type recorder struct {
	mu     sync.Mutex
	sent   []Entry
	answer func(e Entry) error
}

func (r *recorder) Forward(_ context.Context, e Entry) error {
	r.mu.Lock()
	r.sent = append(r.sent, e)
	r.mu.Unlock()
	if r.answer == nil {
		return nil
	}
	return r.answer(e)
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.sent {
		out = append(out, e.ID)
	}
	return out
}

func TestForwardOrder(t *testing.T) {
	s := mustOpen(t, Options{Limits: openLimits})
	mustEnqueue(t, s, advice("a1", 1), reversal("r1", true), advice("a2", 2), reversal("r2", false), advice("a3", 3), reversal("r3", false))
	rec := &recorder{}
	f := &Forwarder{Store: s, Sender: rec, Window: 1}
	for {
		n, err := f.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if got, want := rec.ids(), []string{"r2", "r3", "a1", "a2", "a3"}; !slices.Equal(got, want) {
		t.Fatalf("send order %v, want %v (held r1 not sent)", got, want)
	}
	if err := s.Release("r1"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.Step(context.Background()); n != 1 || err != nil {
		t.Fatalf("step after release: %d %v", n, err)
	}
	if got := rec.ids(); got[len(got)-1] != "r1" {
		t.Fatalf("released reversal not sent: %v", got)
	}
	// With a wide window a round holds only reversals while any is due.
	mustEnqueue(t, s, advice("b1", 1), reversal("s1", false), advice("b2", 1))
	rec.sent = nil
	f.Window = 10
	f.Step(context.Background())
	if got := rec.ids(); !slices.Equal(got, []string{"s1"}) {
		t.Fatalf("first wide round sent %v, want only the reversal", got)
	}
}

// A round with nothing due (only an armed, held reversal: what every online
// payment leaves while its request is out) commits nothing, so it costs the
// payment no fsync.
func TestForwardNothingDueCommitsNothing(t *testing.T) {
	var mu sync.Mutex
	var ops []string
	s := mustOpen(t, Options{Limits: openLimits, OnCommit: func(op string, _ bool) {
		mu.Lock()
		ops = append(ops, op)
		mu.Unlock()
	}})
	mustEnqueue(t, s, reversal("held", true))
	mu.Lock()
	before := len(ops)
	mu.Unlock()
	f := &Forwarder{Store: s, Sender: &recorder{}}
	if n, err := f.Step(context.Background()); n != 0 || err != nil {
		t.Fatalf("step: %d %v", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if extra := ops[before:]; len(extra) != 0 {
		t.Fatalf("a round with nothing due committed %v", extra)
	}
}

func TestForwardOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		answer     error
		wantState  State
		wantEvent  EventType
		wantReason string
		declined   bool
	}{
		{"acknowledged", nil, StateDone, "", "", false},
		{"format error parks", fmt.Errorf("%w: response 30 format error in field 4", ErrRejected), StateFailed, EventParked, "format error", false},
		{"issuer decline", fmt.Errorf("%w: response 05 for card 4761739001010010", ErrDeclined), StateDone, EventDeclinedOffline, "476173******0010", true},
		{"timeout retries", errors.New("read tcp: i/o timeout"), StatePending, "", "timeout", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			s := mustOpen(t, Options{Limits: map[string]Limit{"978": {Count: 5}}, Now: clk.Now})
			mustEnqueue(t, s, advice("x", 700))
			var events []Event
			f := &Forwarder{Store: s, Sender: &recorder{answer: func(Entry) error { return tc.answer }}, OnEvent: func(e Event) { events = append(events, e) }, Jitter: func() float64 { return 0 }}
			if n, err := f.Step(context.Background()); n != 1 || err != nil {
				t.Fatalf("step: %d %v", n, err)
			}
			got := mustGet(t, s, "x")
			if got.State != tc.wantState || got.Declined != tc.declined || !strings.Contains(got.Reason, tc.wantReason) || got.Attempts != 1 {
				t.Fatalf("entry %+v reason %q", got, got.Reason)
			}
			if strings.Contains(got.Reason, "4761739001010010") {
				t.Fatal("PAN stored in reason")
			}
			if tc.wantEvent == "" && len(events) > 0 || tc.wantEvent != "" && (len(events) != 1 || events[0].Type != tc.wantEvent || events[0].Amount != 700) {
				t.Fatalf("events %+v, want %q", events, tc.wantEvent)
			}
			st, _ := s.Stats()
			wantOut := int64(0)
			if tc.wantState == StatePending {
				wantOut = 1
				if !got.Repeat || !got.NextAttempt.Equal(clk.Now().Add(500*time.Millisecond)) {
					t.Errorf("retry: repeat %v next %v", got.Repeat, got.NextAttempt)
				}
			}
			if st.Outstanding["978"].Count != wantOut {
				t.Errorf("outstanding %+v, want %d", st.Outstanding["978"], wantOut)
			}
			if n, _ := f.Step(context.Background()); n != 0 {
				t.Errorf("entry resent at once (%d)", n)
			}
		})
	}
}

func TestForwardBackoffKeepsOrder(t *testing.T) {
	clk := newClock()
	s := mustOpen(t, Options{Limits: openLimits, Now: clk.Now})
	for _, id := range ids(5, "b") {
		mustEnqueue(t, s, advice(id, 1))
	}
	down := true
	rec := &recorder{answer: func(Entry) error {
		if down {
			return errors.New("connection refused")
		}
		return nil
	}}
	j := 0.0
	f := &Forwarder{Store: s, Sender: rec, BackoffBase: time.Second, BackoffMax: 8 * time.Second, Jitter: func() float64 { j = 1 - j; return j * 0.999 }}
	var waits []time.Duration
	for round := 0; round < 6; round++ {
		n, err := f.Step(context.Background())
		if err != nil || n != 5 {
			t.Fatalf("round %d: %d %v", round, n, err)
		}
		next, ok, _ := s.nextDue()
		if !ok {
			t.Fatal("nothing pending")
		}
		waits = append(waits, next.Sub(clk.Now()))
		if n, _ := f.Step(context.Background()); n != 0 {
			t.Fatal("sent before backoff elapsed")
		}
		clk.Add(next.Sub(clk.Now()))
	}
	for i, w := range waits {
		full := min(time.Second<<i, 8*time.Second)
		if w < full/2 || w >= full {
			t.Errorf("wait %d = %v, want in [%v, %v)", i, w, full/2, full)
		}
	}
	down = false
	rec.sent = nil
	f.Window = 1
	for range 5 {
		f.Step(context.Background())
	}
	if got := rec.ids(); !slices.Equal(got, ids(5, "b")) {
		t.Fatalf("order after outage %v", got)
	}
	for _, e := range rec.sent {
		if !e.Repeat || e.Attempts != 7 {
			t.Errorf("%s: repeat %v attempts %d", e.ID, e.Repeat, e.Attempts)
		}
	}
}

// TestForwardLoopbackExactlyOnce forwards through a real TLS connection to
// an acquirer that drops connections before and after recording, answers
// slowly, rejects and declines: at the end every advice is in its journal
// exactly once, only resends were marked as repeats, and the queue agrees.
func TestForwardLoopbackExactlyOnce(t *testing.T) {
	const n = 400
	acq := newLoopAcq(t, func(k int, r acqReq) acqFault {
		switch {
		case r.ID == "e0100":
			return faultFormatError
		case r.ID == "e0200":
			return faultDecline
		case k%37 == 0:
			return faultDropAfter
		case k%53 == 0:
			return faultDropBefore
		case k%11 == 0:
			return faultSlow
		}
		return faultNone
	})
	s := mustOpen(t, Options{Limits: openLimits})
	snd := newTLSSender(acq)
	defer snd.Close()
	var mu sync.Mutex
	var events []Event
	f := &Forwarder{Store: s, Sender: snd, Window: 32, BackoffBase: 2 * time.Millisecond, BackoffMax: 20 * time.Millisecond, Poll: 20 * time.Millisecond,
		OnEvent: func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	for _, id := range ids(n, "e") {
		mustEnqueue(t, s, advice(id, 10))
	}
	for {
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.ByState[StateDone]+st.ByState[StateFailed] == n {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not drained: %+v", st.ByState)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	journal, firsts, dups := acq.snapshot()
	for _, id := range ids(n, "e") {
		want := 1
		if id == "e0100" {
			want = 0
		}
		if journal[id] != want {
			t.Errorf("%s in journal %d times, want %d", id, journal[id], want)
		}
		// A first send lost with its connection reaches the acquirer only
		// as a repeat; a non-repeat must never arrive twice.
		if firsts[id] > 1 {
			t.Errorf("%s arrived %d times as a first (non-repeat) message", id, firsts[id])
		}
	}
	if len(journal) != n-1 {
		t.Errorf("journal has %d ids, want %d", len(journal), n-1)
	}
	if e := mustGet(t, s, "e0100"); e.State != StateFailed || !strings.Contains(e.Reason, "format error") {
		t.Errorf("rejected entry %+v", e)
	}
	if e := mustGet(t, s, "e0200"); e.State != StateDone || !e.Declined {
		t.Errorf("declined entry %+v", e)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 {
		t.Errorf("events %+v", events)
	}
	if dups == 0 {
		t.Error("no duplicate answers: the drop-after fault did not exercise repeats")
	}
	t.Logf("%d advices, %d duplicate answers counted as success", n, dups)
}

// TestForwardSettleFailureRecorded: when recording the answers fails (disk
// full), the entries stay in flight and the next Step records them before
// sending anything else: nothing is sent twice.
func TestForwardSettleFailureRecorded(t *testing.T) {
	failSettle := false
	s := mustOpen(t, Options{Limits: openLimits, testHookCommit: func(op string) error {
		if failSettle && op == "recording forwarding results" {
			return errors.New("injected: no space left on device")
		}
		return nil
	}})
	mustEnqueue(t, s, advice("a1", 1), advice("a2", 2))
	rec := &recorder{}
	f := &Forwarder{Store: s, Sender: rec, Window: 1}
	failSettle = true
	if n, err := f.Step(context.Background()); n != 1 || !errors.Is(err, ErrStorage) {
		t.Fatalf("step: %d %v", n, err)
	}
	if e := mustGet(t, s, "a1"); e.State != StateInFlight {
		t.Fatalf("a1 %s after failed settle", e.State)
	}
	if _, err := f.Step(context.Background()); !errors.Is(err, ErrStorage) {
		t.Fatalf("second step: %v", err)
	}
	failSettle = false
	for i := 0; i < 3; i++ {
		if _, err := f.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := rec.ids(); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("sent %v", got)
	}
	if e := mustGet(t, s, "a1"); e.State != StateDone {
		t.Fatalf("a1 %s", e.State)
	}
}
