package offline

import (
	"context"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Tx is one write transaction of the store, given to the function passed
// to Store.Commit. Everything done through it (entries enqueued, released,
// cancelled or finished, and the caller's own buckets) is committed
// together, with one fsync, or not at all. A Tx is valid only inside that
// function.
type Tx struct {
	s    *Store
	tx   *bolt.Tx
	now  time.Time
	wake bool
}

// ReadTx is a read transaction given to the function passed to Store.View.
type ReadTx struct {
	s  *Store
	tx *bolt.Tx
}

// Commit runs fn in one write transaction and commits it with one fsync
// (Options.OnCommit is told op). If fn returns an error nothing of it is
// written and that error is returned. fn must not call other Store
// methods that write (they would wait for this transaction). ctx is
// checked before the transaction starts; once started it is not
// abandoned.
func (s *Store) Commit(ctx context.Context, op string, fn func(*Tx) error) error {
	return s.commit(ctx, op, true, fn)
}

// CommitLazy is Commit without the fsync: the transaction survives a
// process crash (the page cache holds it) but not a power cut until the
// next synced commit. It is for records that move no money (a payment
// waiting for a card); never for a decision anyone will act on.
func (s *Store) CommitLazy(ctx context.Context, op string, fn func(*Tx) error) error {
	return s.commit(ctx, op, false, fn)
}

func (s *Store) commit(ctx context.Context, op string, sync bool, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.commits.Add(1)
	s.mu.Unlock()
	defer s.commits.Done()
	// Payloads sealed inside fn must be committed before a Rekey pass.
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	wake := false
	err := s.updateSync(op, sync, func(btx *bolt.Tx) error {
		t := &Tx{s: s, tx: btx, now: s.opts.now()}
		if err := fn(t); err != nil {
			return err
		}
		wake = t.wake
		return nil
	})
	if err == nil && wake {
		s.wake()
	}
	return err
}

// View runs fn in a read transaction.
func (s *Store) View(fn func(*ReadTx) error) error {
	err := s.db.View(func(btx *bolt.Tx) error { return fn(&ReadTx{s: s, tx: btx}) })
	return s.wrapWrite("view", err)
}

// Now is the store's clock at the start of the transaction.
func (t *Tx) Now() time.Time { return t.now }

// Enqueue adds e as Store.Enqueue does (same validation, limits and
// errors), inside the transaction.
func (t *Tx) Enqueue(e Entry) error {
	if err := validateEntry(&e); err != nil {
		return err
	}
	sealed, err := t.s.prepare(&e)
	if err != nil {
		return err
	}
	if err := t.s.putNew(t.tx, &e, sealed, t.now); err != nil {
		return err
	}
	t.wake = t.wake || queued(e.State)
	return nil
}

// Release turns a held reversal into a pending one (see Store.Release).
func (t *Tx) Release(id string) error {
	e, err := getEntry(t.tx, id)
	if err != nil {
		return err
	}
	switch e.State {
	case StatePending, StateInFlight:
		return nil
	case StateHeld:
		e.NextAttempt = time.Time{}
		t.wake = true
		return setState(t.tx, &e, StatePending, t.now)
	}
	return &StateError{Op: "release", ID: id, State: e.State}
}

// Cancel removes a held reversal (see Store.Cancel).
func (t *Tx) Cancel(id string) error {
	e, err := getEntry(t.tx, id)
	if err != nil {
		return err
	}
	if e.State != StateHeld {
		return &StateError{Op: "cancel", ID: id, State: e.State}
	}
	return deleteEntry(t.tx, &e)
}

// Finish marks a kept record done: it is no longer needed and Purge may
// remove it after the retention time.
func (t *Tx) Finish(id string) error {
	e, err := getEntry(t.tx, id)
	if err != nil {
		return err
	}
	if e.State != StateKept {
		return &StateError{Op: "finish", ID: id, State: e.State}
	}
	return setState(t.tx, &e, StateDone, t.now)
}

// Get returns the entry id with its payload decrypted.
func (t *Tx) Get(id string) (Entry, error) { return getOpen(t.s, t.tx, id) }

// Get returns the entry id with its payload decrypted.
func (t *ReadTx) Get(id string) (Entry, error) { return getOpen(t.s, t.tx, id) }

func getOpen(s *Store, tx *bolt.Tx, id string) (Entry, error) {
	e, err := getEntry(tx, id)
	if err != nil {
		return Entry{}, err
	}
	if err := s.openPayload(tx, &e); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// OwnBucketPrefix starts the name of every bucket a caller keeps in the
// store's file beside the queue (Tx.Bucket, ReadTx.Bucket).
const OwnBucketPrefix = "x."

// Bucket returns the caller's bucket OwnBucketPrefix+name, creating it on
// first use. The queue's own buckets cannot be reached this way.
func (t *Tx) Bucket(name string) (*bolt.Bucket, error) {
	if err := ownName(name); err != nil {
		return nil, err
	}
	return t.tx.CreateBucketIfNotExists([]byte(OwnBucketPrefix + name))
}

// Bucket returns the caller's bucket OwnBucketPrefix+name, or nil when it
// was never created.
func (t *ReadTx) Bucket(name string) *bolt.Bucket {
	if ownName(name) != nil {
		return nil
	}
	return t.tx.Bucket([]byte(OwnBucketPrefix + name))
}

func ownName(name string) error {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, "\x00") {
		return fmt.Errorf("%w: bucket name %q", ErrInvalidEntry, name)
	}
	return nil
}
