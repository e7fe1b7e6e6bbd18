package offline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// mustOpen opens a store in a fresh temp dir and, on cleanup, checks the
// file's consistency (bbolt tx.Check and the queue invariants) and closes it.
func mustOpen(t testing.TB, opts Options) *Store {
	t.Helper()
	return mustOpenAt(t, filepath.Join(t.TempDir(), DBFileName), opts)
}

func mustOpenAt(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("consistency check at cleanup: %v", err)
		}
		s.Close()
	})
	return s
}

// openLimits are generous limits for tests that do not test limits.
var openLimits = map[string]Limit{"*": {}}

func advice(id string, amount int64) Entry {
	return Entry{ID: id, Kind: KindAdvice, Amount: amount, Currency: "978", Payload: []byte("advice payload " + id)}
}

func reversal(id string, held bool) Entry {
	e := Entry{ID: id, Kind: KindReversal, Amount: 100, Currency: "978", Payload: []byte("reversal payload " + id)}
	if held {
		e.State = StateHeld
	}
	return e
}

func mustEnqueue(t testing.TB, s *Store, es ...Entry) {
	t.Helper()
	for _, e := range es {
		if err := s.Enqueue(context.Background(), e); err != nil {
			t.Fatalf("Enqueue(%s): %v", e.ID, err)
		}
	}
}

func mustGet(t testing.TB, s *Store, id string) Entry {
	t.Helper()
	e, err := s.Get(id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return e
}

func ids(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return out
}
