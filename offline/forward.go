package offline

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"posagent/emv/pan"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Sender delivers one entry to the acquirer. It is implemented by the
// uplink client and may be called concurrently (the forwarder pipelines).
//
//   - nil: acknowledged (an acquirer "duplicate transmission" answer is
//     also nil): the entry is done.
//   - an error matching ErrRejected: a permanent rejection (format error):
//     the entry is parked as failed with the error text as its reason.
//   - an error matching ErrDeclined: the issuer declined an offline
//     approval: the entry is done and an EventDeclinedOffline is raised.
//   - any other error: retried later with backoff, as a repeat.
type Sender interface {
	Forward(ctx context.Context, e Entry) error
}

// EventType names a forwarding event.
type EventType string

// Forwarding events.
const (
	// EventDeclinedOffline: the issuer declined an approval given offline:
	// the goods are gone and the money will not come (merchant's loss).
	EventDeclinedOffline EventType = "declined offline approval"
	// EventParked: a permanent rejection parked the entry as failed; it
	// needs attention (posagent queue retry ID after a fix).
	EventParked EventType = "parked as failed"
)

// Event is raised after its outcome is durable. It carries no card data.
type Event struct {
	Type     EventType
	ID       string
	Kind     Kind
	Amount   int64
	Currency string
	Reason   string
	At       time.Time
}

// outcome of one send.
type outcome int

const (
	outDone outcome = iota
	outDeclined
	outRejected
	outRetry
)

type result struct {
	id     string
	out    outcome
	reason string
}

// recoverInFlight makes entries that were in flight at the last stop
// pending again, marked as repeats.
func (s *Store) recoverInFlight() (int, error) {
	n := 0
	err := s.update("recovering in-flight entries", func(tx *bolt.Tx) error {
		n = 0
		var found []Entry
		c := tx.Bucket(bktQueue).Cursor()
		for k, id := c.First(); k != nil; k, id = c.Next() {
			e, err := getEntry(tx, string(id))
			if err != nil {
				return err
			}
			if e.State == StateInFlight {
				found = append(found, e)
			}
		}
		for i := range found {
			e := &found[i]
			e.Repeat = true
			e.NextAttempt = time.Time{}
			if err := setState(tx, e, StatePending, s.opts.now()); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// claim marks up to max due entries as in flight and returns them with
// payloads decrypted. A round holds only reversals when any reversal is
// due; otherwise advices (then other kinds) in queue order. The returned
// entries carry Repeat as it was before this attempt.
func (s *Store) claim(now time.Time, max int) ([]Entry, error) {
	// A round with nothing due writes nothing: every queue write wakes the
	// forwarder (an armed reversal too, which is held), and an empty write
	// transaction would still cost a commit and its fsync.
	var due []Entry
	if err := s.db.View(func(tx *bolt.Tx) (err error) {
		due, err = dueEntries(tx, now, 1)
		return err
	}); err != nil {
		return nil, s.wrapWrite("looking for entries to forward", err)
	}
	if len(due) == 0 {
		return nil, nil
	}
	var out []Entry
	err := s.update("claiming entries to forward", func(tx *bolt.Tx) error {
		var err error
		if out, err = dueEntries(tx, now, max); err != nil {
			return err
		}
		for i := range out {
			e := &out[i]
			stored := *e
			stored.Attempts++
			stored.Repeat = true
			if err := setState(tx, &stored, StateInFlight, now); err != nil {
				return err
			}
			e.Attempts = stored.Attempts
			e.State = StateInFlight
			if err := s.openPayload(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// dueEntries lists up to max pending entries due at now, of one rank (all
// reversals, else advices, ...), in queue order.
func dueEntries(tx *bolt.Tx, now time.Time, max int) ([]Entry, error) {
	var out []Entry
	c := tx.Bucket(bktQueue).Cursor()
	rank := byte(255)
	for k, id := c.First(); k != nil && len(out) < max; k, id = c.Next() {
		if rank != 255 && k[0] != rank {
			break
		}
		e, err := getEntry(tx, string(id))
		if err != nil {
			return nil, err
		}
		if e.State != StatePending || e.NextAttempt.After(now) {
			continue
		}
		rank = k[0]
		out = append(out, e)
	}
	return out, nil
}

// settle records the outcomes of one round in one transaction.
func (s *Store) settle(results []result, now time.Time, retryAt func(attempts int) time.Time) ([]Event, error) {
	var events []Event
	err := s.update("recording forwarding results", func(tx *bolt.Tx) error {
		events = events[:0]
		for _, r := range results {
			e, err := getEntry(tx, r.id)
			if err != nil {
				return err
			}
			if e.State != StateInFlight {
				continue // settled elsewhere (should not happen)
			}
			switch r.out {
			case outDone:
				err = setState(tx, &e, StateDone, now)
			case outDeclined:
				e.Declined, e.Reason = true, r.reason
				err = setState(tx, &e, StateDone, now)
				events = append(events, Event{Type: EventDeclinedOffline, ID: e.ID, Kind: e.Kind, Amount: e.Amount, Currency: e.Currency, Reason: r.reason, At: now})
			case outRejected:
				e.Reason = r.reason
				err = setState(tx, &e, StateFailed, now)
				events = append(events, Event{Type: EventParked, ID: e.ID, Kind: e.Kind, Amount: e.Amount, Currency: e.Currency, Reason: r.reason, At: now})
			default:
				e.Reason = r.reason
				e.NextAttempt = retryAt(e.Attempts)
				err = setState(tx, &e, StatePending, now)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	return events, err
}

// nextDue returns the earliest NextAttempt of a pending entry.
func (s *Store) nextDue() (time.Time, bool, error) {
	var t time.Time
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktQueue).Cursor()
		for k, id := c.First(); k != nil; k, id = c.Next() {
			e, err := getEntry(tx, string(id))
			if err != nil {
				return err
			}
			if e.State == StatePending && (!found || e.NextAttempt.Before(t)) {
				t, found = e.NextAttempt, true
			}
		}
		return nil
	})
	return t, found, err
}

// Forwarder drains a Store through a Sender. Set the fields before Run.
type Forwarder struct {
	Store  *Store
	Sender Sender
	Logger *slog.Logger
	// OnEvent is called after an event's outcome is durable.
	OnEvent func(Event)
	// Window is how many entries are sent concurrently in one round
	// (pipelining). Default 64.
	Window int
	// BackoffBase and BackoffMax bound the retry delay, which doubles per
	// attempt; a jitter factor in [0.5, 1) is drawn once per round so that
	// entries failing together keep their order. Defaults 1 s and 5 min.
	BackoffBase, BackoffMax time.Duration
	// Poll is the longest idle wait between looks at the queue. Default 5 s.
	Poll time.Duration
	// Retention purges done entries older than this (checked hourly by
	// Run). Zero keeps them.
	Retention time.Duration
	// Now is the clock (default the Store's clock).
	Now func() time.Time
	// Jitter returns a number in [0, 1) (default math/rand/v2).
	Jitter func() float64

	// unsettled holds outcomes whose recording failed (disk full): they
	// are recorded before anything else is claimed.
	unsettled []result
}

func (f *Forwarder) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return f.Store.opts.now()
}

func (f *Forwarder) logger() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return discard
}

// backoff returns the delay before attempt number attempts+1.
func (f *Forwarder) backoff(attempts int, jitter float64) time.Duration {
	base, max := f.BackoffBase, f.BackoffMax
	if base <= 0 {
		base = time.Second
	}
	if max <= 0 {
		max = 5 * time.Minute
	}
	d := base
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return time.Duration(float64(d) * (0.5 + jitter/2))
}

// Step runs one forwarding round: claims due entries, sends them
// concurrently, records the outcomes and raises events. It returns the
// number of entries sent.
func (f *Forwarder) Step(ctx context.Context) (int, error) {
	window := f.Window
	if window <= 0 {
		window = 64
	}
	if len(f.unsettled) > 0 {
		if err := f.settle(f.unsettled); err != nil {
			return 0, err
		}
		f.unsettled = nil
	}
	now := f.now()
	batch, err := f.Store.claim(now, window)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	results := make([]result, len(batch))
	var wg sync.WaitGroup
	for i := range batch {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = classify(batch[i].ID, f.Sender.Forward(ctx, batch[i]))
		}(i)
	}
	wg.Wait()
	if err := f.settle(results); err != nil {
		// The entries stay in flight in the file: the next Step records
		// the outcomes first; after a crash they are resent as repeats.
		f.unsettled = results
		return len(batch), err
	}
	return len(batch), nil
}

// settle records one round's outcomes, logs, and raises the events.
func (f *Forwarder) settle(results []result) error {
	jitter := 0.0
	if f.Jitter != nil {
		jitter = f.Jitter()
	} else {
		jitter = rand.Float64()
	}
	done := f.now()
	events, err := f.Store.settle(results, done, func(attempts int) time.Time {
		return done.Add(f.backoff(attempts, jitter))
	})
	if err != nil {
		return err
	}
	log := f.logger()
	retried := 0
	for _, r := range results {
		if r.out == outRetry {
			retried++
		}
	}
	if retried > 0 {
		log.Warn("offline forward: sends failed, will retry", "failed", retried, "sent", len(results), "first_error", results[firstRetry(results)].reason)
	}
	for _, ev := range events {
		log.Warn("offline forward: "+string(ev.Type), "id", ev.ID, "kind", ev.Kind, "amount", ev.Amount, "currency", ev.Currency, "reason", ev.Reason)
		if f.OnEvent != nil {
			f.OnEvent(ev)
		}
	}
	return nil
}

func firstRetry(rs []result) int {
	for i, r := range rs {
		if r.out == outRetry {
			return i
		}
	}
	return 0
}

func classify(id string, err error) result {
	switch {
	case err == nil:
		return result{id: id, out: outDone}
	case errors.Is(err, ErrDeclined):
		return result{id: id, out: outDeclined, reason: MaskDigits(err.Error())}
	case errors.Is(err, ErrRejected):
		return result{id: id, out: outRejected, reason: MaskDigits(err.Error())}
	default:
		return result{id: id, out: outRetry, reason: MaskDigits(err.Error())}
	}
}

// Run forwards until ctx is done. Storage errors are logged and retried.
func (f *Forwarder) Run(ctx context.Context) error {
	poll := f.Poll
	if poll <= 0 {
		poll = 5 * time.Second
	}
	log := f.logger()
	var lastPurge time.Time
	storageFails := 0
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if f.Retention > 0 && f.now().Sub(lastPurge) > time.Hour {
			lastPurge = f.now()
			if n, err := f.Store.Purge(lastPurge.Add(-f.Retention)); err != nil {
				log.Error("offline queue: purge failed", "err", err)
			} else if n > 0 {
				log.Info("offline queue: purged done entries", "count", n)
			}
		}
		n, err := f.Step(ctx)
		if errors.Is(err, ErrClosed) {
			return err
		}
		wait := time.Duration(0)
		switch {
		case err != nil:
			storageFails++
			wait = f.backoff(storageFails, rand.Float64())
			log.Error("offline forward: queue error", "err", err, "retry_in", wait)
		case n > 0:
			storageFails = 0
			continue
		default:
			storageFails = 0
			wait = poll
			if t, ok, err := f.Store.nextDue(); err == nil && ok {
				if d := t.Sub(f.now()); d < wait {
					wait = max(d, time.Millisecond)
				}
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-f.Store.Notify():
		case <-timer.C:
		}
		timer.Stop()
	}
}

// MaskDigits finds every run of 12 to 19 digits (a possible PAN) in s and
// masks it by emv/pan's rule (pan.Mask: first 6 and last 4), and stars runs
// longer than 19 whole, so that a reason text from a peer cannot carry a
// card number into the file or logs.
func MaskDigits(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); {
		if b[i] < '0' || b[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if n := j - i; n >= 12 && n <= 19 {
			copy(b[i:j], pan.Mask(string(b[i:j])))
		} else if n > 19 {
			for k := i; k < j; k++ {
				b[k] = '*'
			}
		}
		i = j
	}
	return string(b)
}
