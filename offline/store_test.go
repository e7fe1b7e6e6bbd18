package offline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEnqueueGetRoundTrip(t *testing.T) {
	clk := newClock()
	s := mustOpen(t, Options{Limits: openLimits, Now: clk.Now})
	ck := s.CardKey("4761739001010010")
	tests := []struct {
		name string
		in   Entry
		want State
	}{
		{"advice", Entry{ID: "tx-1", Kind: KindAdvice, Amount: 1250, Currency: "978", Payload: []byte("SECRETPAYLOAD-1"), CardKey: ck}, StatePending},
		{"held reversal", Entry{ID: "tx-2", Kind: KindReversal, State: StateHeld, Amount: 990, Currency: "978", Payload: []byte("SECRETPAYLOAD-2")}, StateHeld},
		{"pending reversal", Entry{ID: "tx-3", Kind: KindReversal, State: StatePending, Payload: []byte("SECRETPAYLOAD-3")}, StatePending},
		{"empty payload", Entry{ID: "tx-4", Kind: KindAdvice, Amount: 1, Currency: "840"}, StatePending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mustEnqueue(t, s, tc.in)
			got := mustGet(t, s, tc.in.ID)
			if got.State != tc.want || got.Kind != tc.in.Kind || got.Amount != tc.in.Amount || got.Currency != tc.in.Currency {
				t.Errorf("got %v, want state %s of %v", got, tc.want, tc.in)
			}
			if !bytes.Equal(got.Payload, tc.in.Payload) {
				t.Errorf("payload %q, want %q", got.Payload, tc.in.Payload)
			}
			if !got.Created.Equal(clk.Now()) || got.KeyID == "" || got.Seq == 0 {
				t.Errorf("created %v key %q seq %d", got.Created, got.KeyID, got.Seq)
			}
			if !bytes.Equal(got.CardKey, tc.in.CardKey) {
				t.Errorf("card key not kept")
			}
		})
	}
	s.Close()
	raw, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("SECRETPAYLOAD")) {
		t.Error("payload found in clear in the queue file")
	}
}

func TestEnqueueInvalid(t *testing.T) {
	s := mustOpen(t, Options{Limits: openLimits})
	tests := []struct {
		name string
		e    Entry
	}{
		{"empty id", Entry{Kind: KindAdvice, Currency: "978"}},
		{"long id", Entry{ID: strings.Repeat("x", MaxIDLen+1), Kind: KindAdvice, Currency: "978"}},
		{"bad utf8 id", Entry{ID: "a\xff", Kind: KindAdvice, Currency: "978"}},
		{"control character in id", Entry{ID: "a\x00", Kind: KindAdvice, Currency: "978"}},
		{"unknown kind", Entry{ID: "a", Kind: "sale", Currency: "978"}},
		{"done state", Entry{ID: "a", Kind: KindAdvice, State: StateDone, Currency: "978"}},
		{"held advice", Entry{ID: "a", Kind: KindAdvice, State: StateHeld, Currency: "978"}},
		{"negative amount", Entry{ID: "a", Kind: KindAdvice, Amount: -1, Currency: "978"}},
		{"advice without currency", Entry{ID: "a", Kind: KindAdvice}},
		{"long currency", Entry{ID: "a", Kind: KindAdvice, Currency: "EURO"}},
		{"huge payload", Entry{ID: "a", Kind: KindAdvice, Currency: "978", Payload: make([]byte, MaxPayload+1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Enqueue(context.Background(), tc.e)
			if !errors.Is(err, ErrInvalidEntry) {
				t.Fatalf("err = %v, want ErrInvalidEntry", err)
			}
		})
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if n := st.ByState[StatePending]; n != 0 {
		t.Errorf("%d entries stored after invalid enqueues", n)
	}
}

func TestEnqueueDuplicate(t *testing.T) {
	s := mustOpen(t, Options{Limits: openLimits})
	mustEnqueue(t, s, advice("dup", 100))
	for _, e := range []Entry{advice("dup", 100), reversal("dup", true)} {
		if err := s.Enqueue(context.Background(), e); !errors.Is(err, ErrDuplicate) {
			t.Errorf("second enqueue of %s: %v, want ErrDuplicate", e.Kind, err)
		}
	}
	if got := mustGet(t, s, "dup"); got.Kind != KindAdvice {
		t.Errorf("duplicate replaced the entry: %v", got)
	}
}

func TestEnqueueCanceledContext(t *testing.T) {
	s := mustOpen(t, Options{Limits: openLimits})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Enqueue(ctx, advice("a", 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.Get("a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after canceled enqueue: %v", err)
	}
}

func TestConcurrentEnqueueSharesCommits(t *testing.T) {
	var commits atomic.Int64
	s := mustOpen(t, Options{Limits: openLimits, testHookCommit: func(op string) error {
		if op == "enqueue" {
			commits.Add(1)
		}
		return nil
	}})
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Enqueue(context.Background(), advice(ids(n, "c")[i], int64(i)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("enqueue %d: %v", i, err)
		}
	}
	if c := commits.Load(); c >= n/2 {
		t.Errorf("%d commits for %d concurrent enqueues: commits are not shared", c, n)
	} else {
		t.Logf("%d enqueues in %d commits", n, c)
	}
	stats, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if stats.ByState[StatePending] != n {
		t.Errorf("pending %d, want %d", stats.ByState[StatePending], n)
	}
	if o := stats.Outstanding["978"]; o.Count != n || o.Amount != n*(n-1)/2 {
		t.Errorf("outstanding %+v", o)
	}
}

func TestHeldReleaseCancel(t *testing.T) {
	tests := []struct {
		name      string
		entry     Entry
		op        func(s *Store, id string) error
		wantErr   error
		wantState State // "" = removed
	}{
		{"release held", reversal("r", true), (*Store).Release, nil, StatePending},
		{"cancel held", reversal("r", true), (*Store).Cancel, nil, ""},
		{"release pending is no-op", reversal("r", false), (*Store).Release, nil, StatePending},
		{"cancel pending refused", reversal("r", false), (*Store).Cancel, ErrWrongState, StatePending},
		{"cancel advice refused", advice("r", 5), (*Store).Cancel, ErrWrongState, StatePending},
		{"release missing", Entry{}, (*Store).Release, ErrNotFound, ""},
		{"cancel missing", Entry{}, (*Store).Cancel, ErrNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t, Options{Limits: openLimits})
			if tc.entry.ID != "" {
				mustEnqueue(t, s, tc.entry)
			}
			err := tc.op(s, "r")
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			got, err := s.Get("r")
			if tc.wantState == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("entry still there: %v %v", got, err)
				}
				return
			}
			if err != nil || got.State != tc.wantState {
				t.Fatalf("state %s (%v), want %s", got.State, err, tc.wantState)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	limits := map[string]Limit{
		"978": {PerTransaction: 5000, TotalAmount: 12000, Count: 4, MaxAge: time.Hour, CardCount: 2, CardAmount: 7000},
	}
	type step struct {
		amount   int64
		currency string
		pan      string
		advance  time.Duration
		want     LimitName // "" = accepted
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"per transaction", []step{{5000, "978", "", 0, ""}, {5001, "978", "", 0, LimitPerTransaction}}},
		{"unknown currency", []step{{1, "840", "", 0, LimitCurrency}}},
		{"count", []step{{1, "978", "", 0, ""}, {1, "978", "", 0, ""}, {1, "978", "", 0, ""}, {1, "978", "", 0, ""}, {1, "978", "", 0, LimitCount}}},
		{"total amount", []step{{5000, "978", "", 0, ""}, {5000, "978", "", 0, ""}, {2001, "978", "", 0, LimitTotalAmount}, {2000, "978", "", 0, ""}}},
		{"age of oldest", []step{{10, "978", "", 0, ""}, {10, "978", "", 59 * time.Minute, ""}, {10, "978", "", 2 * time.Minute, LimitAge}}},
		{"card count", []step{{10, "978", "4111111111111111", 0, ""}, {10, "978", "4111111111111111", 0, ""}, {10, "978", "4111111111111111", 0, LimitCardCount}, {10, "978", "5500000000000004", 0, ""}}},
		{"card amount", []step{{4000, "978", "4111111111111111", 0, ""}, {3001, "978", "4111111111111111", 0, LimitCardAmount}, {3000, "978", "4111111111111111", 0, ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			s := mustOpen(t, Options{Limits: limits, Now: clk.Now})
			for i, st := range tc.steps {
				clk.Add(st.advance)
				var ck []byte
				if st.pan != "" {
					ck = s.CardKey(st.pan)
				}
				check := s.CheckLimits(st.amount, st.currency, ck, clk.Now())
				e := Entry{ID: ids(len(tc.steps), "l")[i], Kind: KindAdvice, Amount: st.amount, Currency: st.currency, CardKey: ck}
				err := s.Enqueue(context.Background(), e)
				for _, got := range []error{check, err} {
					if st.want == "" {
						if got != nil {
							t.Fatalf("step %d: %v, want accepted", i, got)
						}
						continue
					}
					var le *LimitError
					if !errors.As(got, &le) || le.Limit != st.want || !errors.Is(got, ErrLimitExceeded) {
						t.Fatalf("step %d: %v, want limit %q", i, got, st.want)
					}
					if st.pan != "" && strings.Contains(got.Error(), st.pan[6:12]) {
						t.Errorf("limit error shows card digits: %v", got)
					}
				}
				if st.want != "" {
					if _, err := s.Get(e.ID); !errors.Is(err, ErrNotFound) {
						t.Fatalf("refused entry was stored: %v", err)
					}
				}
			}
		})
	}
}

func TestLimitsConcurrentNeverExceeded(t *testing.T) {
	s := mustOpen(t, Options{Limits: map[string]Limit{"978": {Count: 25, TotalAmount: 2000}}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted, amount := 0, int64(0)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := int64(50 + i%7*10)
			err := s.Enqueue(context.Background(), advice(ids(100, "v")[i], a))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				accepted++
				amount += a
			case !errors.Is(err, ErrLimitExceeded):
				t.Errorf("enqueue: %v", err)
			}
		}()
	}
	wg.Wait()
	if accepted > 25 || amount > 2000 || accepted == 0 {
		t.Fatalf("accepted %d for %d, limits 25 / 2000", accepted, amount)
	}
	st, _ := s.Stats()
	if o := st.Outstanding["978"]; o.Count != int64(accepted) || o.Amount != amount {
		t.Errorf("counters %+v, accepted %d/%d", o, accepted, amount)
	}
}

func TestReopenRecoversInFlight(t *testing.T) {
	path := filepath.Join(t.TempDir(), DBFileName)
	s, err := Open(path, Options{Limits: openLimits})
	if err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, s, advice("a1", 10), advice("a2", 20))
	claimed, err := s.claim(time.Now(), 1)
	if err != nil || len(claimed) != 1 || claimed[0].ID != "a1" || claimed[0].Repeat {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if err := s.Close(); err != nil { // "crash" with a1 in flight
		t.Fatal(err)
	}
	s = mustOpenAt(t, path, Options{Limits: openLimits})
	tests := []struct {
		id         string
		state      State
		repeat     bool
		attempts   int
		payloadHas string
	}{
		{"a1", StatePending, true, 1, "a1"},
		{"a2", StatePending, false, 0, "a2"},
	}
	for _, tc := range tests {
		got := mustGet(t, s, tc.id)
		if got.State != tc.state || got.Repeat != tc.repeat || got.Attempts != tc.attempts || !bytes.Contains(got.Payload, []byte(tc.payloadHas)) {
			t.Errorf("%s: %+v", tc.id, got)
		}
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), DBFileName)
	mustOpenAt(t, path, Options{})
	start := time.Now()
	_, err := Open(path, Options{OpenTimeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second open took %v", d)
	}
	if !strings.Contains(err.Error(), "another process") {
		t.Errorf("message does not say what happened: %v", err)
	}
}

func TestPurgeRetryCompact(t *testing.T) {
	clk := newClock()
	path := filepath.Join(t.TempDir(), DBFileName)
	s, err := Open(path, Options{Limits: openLimits, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, id := range ids(300, "p") {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Enqueue(context.Background(), Entry{ID: id, Kind: KindAdvice, Amount: 1, Currency: "978", Payload: bytes.Repeat([]byte{'x'}, 512)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	f := &Forwarder{Store: s, Sender: senderFunc(func(_ context.Context, e Entry) error {
		if e.ID == "p0007" {
			return errors.Join(ErrRejected, errors.New("format error in field 4"))
		}
		return nil
	}), Window: 1000}
	if n, err := f.Step(context.Background()); err != nil || n != 300 {
		t.Fatalf("step: %d %v", n, err)
	}
	clk.Add(48 * time.Hour)
	if err := s.Retry("p0007"); err != nil {
		t.Fatal(err)
	}
	if err := s.Retry("p0008"); !errors.Is(err, ErrWrongState) {
		t.Errorf("retry of done entry: %v", err)
	}
	n, err := s.Purge(clk.Now().Add(-24 * time.Hour))
	if err != nil || n != 299 {
		t.Fatalf("purge: %d %v", n, err)
	}
	if got := mustGet(t, s, "p0007"); got.State != StatePending || got.Reason != "" {
		t.Errorf("retried entry %+v", got)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, after, err := Compact(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if after >= before {
		t.Errorf("compact: %d -> %d bytes", before, after)
	}
	s = mustOpenAt(t, path, Options{Limits: openLimits})
	if got := mustGet(t, s, "p0007"); !bytes.Equal(got.Payload, bytes.Repeat([]byte{'x'}, 512)) {
		t.Error("payload lost by compaction")
	}
}

type senderFunc func(ctx context.Context, e Entry) error

func (f senderFunc) Forward(ctx context.Context, e Entry) error { return f(ctx, e) }

func TestMaskDigits(t *testing.T) {
	tests := []struct{ in, want string }{
		{"decline 4761739001010010 now", "decline 476173******0010 now"},
		{"stan 000123 ok", "stan 000123 ok"},
		{"12345678901", "12345678901"},
		{"123456789012", "********9012"}, // emv/pan rule: 12 digits show the last 4
		{"1234567890123456789", "123456*********6789"},
		{"12345678901234567890", "********************"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := MaskDigits(tc.in); got != tc.want {
			t.Errorf("MaskDigits(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
