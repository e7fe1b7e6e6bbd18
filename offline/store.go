package offline

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket names.
var (
	bktMeta     = []byte("meta")     // schema version
	bktEntries  = []byte("entries")  // id -> entry record; id+"\x00" -> sealed payload (same leaf pages)
	bktQueue    = []byte("queue")    // rank(1) seq(8) -> id, for held/pending/in-flight entries
	bktDone     = []byte("done")     // finished(8) id -> empty, for done entries (retention)
	bktCounters = []byte("counters") // "cur\x00"+currency or "card\x00"+currency+"\x00"+cardkey -> counter
	allBuckets  = [][]byte{bktMeta, bktEntries, bktQueue, bktDone, bktCounters}

	metaSchema = []byte("schema")
)

const schemaVersion = 1

// Default file names inside a data directory.
const (
	DBFileName     = "queue.db"
	KeyFileName    = "queue.key"
	SecretFileName = "queue.secret"
)

// MaxIDLen bounds an entry id.
const MaxIDLen = 128

// MaxPayload bounds an entry payload.
const MaxPayload = 64 << 10

// Store is the durable queue. Its methods are safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
	opts Options
	log  *slog.Logger

	// keyMu is held for reading by Enqueue from sealing until its commit,
	// and for writing by Rekey, so that no payload sealed under a retired
	// key is committed behind Rekey's pass. Readers do not take it: they
	// load keys, which keeps retired keys in memory until Close.
	keyMu   sync.RWMutex
	keys    atomic.Pointer[keyring]
	keyPath string
	secret  []byte

	wmu sync.Mutex // held by every write transaction (see updateSync)

	mu         sync.Mutex
	pending    []*enqReq
	committing bool
	closed     bool
	commits    sync.WaitGroup

	notify chan struct{}
}

type enqReq struct {
	e      Entry
	sealed []byte
	err    error
	done   chan struct{}
}

// Open opens (creating on first start) the queue file at path. It fails
// fast with ErrLocked when another process holds the file, and with
// ErrCorrupt (leaving the file untouched) when the file is damaged. An
// entry that was in flight when the previous process died is made pending
// again and marked as a repeat.
func Open(path string, opts Options) (_ *Store, err error) {
	s := &Store{path: path, opts: opts, log: opts.Logger, notify: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = discard
	}
	dir := filepath.Dir(path)
	if s.opts.KeyFile == "" {
		s.opts.KeyFile = filepath.Join(dir, KeyFileName)
	}
	if s.opts.SecretFile == "" {
		s.opts.SecretFile = filepath.Join(dir, SecretFileName)
	}
	s.keyPath = s.opts.KeyFile
	if !opts.ReadOnly {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("offline: creating data directory: %w", err)
		}
	} else if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("offline: open queue: %w", err)
	}
	timeout := opts.OpenTimeout
	switch {
	case timeout == 0:
		timeout = time.Second
	case timeout < 0:
		timeout = time.Nanosecond
	}
	bo := &bolt.Options{Timeout: timeout, ReadOnly: opts.ReadOnly, NoSync: opts.NoSync, FreelistType: bolt.FreelistMapType}
	db, err := openBolt(path, bo)
	if err != nil {
		return nil, err
	}
	s.db = db
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	// Check before any write: a corrupt file is left exactly as found.
	if !opts.SkipCheck {
		if err := s.Check(); err != nil {
			return nil, err
		}
	}
	if !opts.ReadOnly {
		if err := s.initBuckets(); err != nil {
			return nil, err
		}
	}
	if err := s.loadKeys(); err != nil {
		return nil, err
	}
	secret, err := loadSecret(s.opts.SecretFile, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	s.secret = secret
	if !opts.ReadOnly {
		n, err := s.recoverInFlight()
		if err != nil {
			return nil, err
		}
		if n > 0 {
			s.log.Warn("offline queue: entries were in flight at the last stop; they will be resent as repeats", "count", n)
		}
	}
	return s, nil
}

func openBolt(path string, bo *bolt.Options) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, &CorruptError{Path: path, Detail: fmt.Sprintf("bbolt failed reading the file (%v)", r)}
		}
	}()
	db, err = bolt.Open(path, 0o600, bo)
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, &LockedError{Path: path, Err: err}
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, &CorruptError{Path: path, Detail: "bbolt refused the file", Err: err}
	}
	var fi fs.FileInfo
	if fi, _ = os.Stat(path); fi != nil && fi.Size() > 0 && !errors.Is(err, fs.ErrPermission) {
		// bbolt reports a damaged header page with plain errors.
		return nil, &CorruptError{Path: path, Detail: "cannot open", Err: err}
	}
	return nil, fmt.Errorf("offline: open queue %s: %w", path, err)
}

func (s *Store) initBuckets() error {
	ready := false
	if err := s.db.View(func(tx *bolt.Tx) error {
		ready = true
		for _, name := range allBuckets {
			ready = ready && tx.Bucket(name) != nil
		}
		if ready {
			v := tx.Bucket(bktMeta).Get(metaSchema)
			if len(v) != 1 || v[0] != schemaVersion {
				return &CorruptError{Path: s.path, Detail: fmt.Sprintf("unknown schema version %v (written by a newer posagent?)", v)}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if ready {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		m := tx.Bucket(bktMeta)
		if v := m.Get(metaSchema); v == nil {
			return m.Put(metaSchema, []byte{schemaVersion})
		} else if len(v) != 1 || v[0] != schemaVersion {
			return &CorruptError{Path: s.path, Detail: fmt.Sprintf("unknown schema version %v (written by a newer posagent?)", v)}
		}
		return nil
	})
	return s.wrapWrite("initialising", err)
}

func (s *Store) loadKeys() error {
	k, exists, err := loadKeyring(s.keyPath)
	if err != nil {
		return err
	}
	if exists {
		s.keys.Store(k)
		return nil
	}
	// No key file: only acceptable when no payload needs one.
	var n int
	if err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bktEntries); b != nil {
			n = countPayloads(b)
		}
		return nil
	}); err != nil {
		return err
	}
	if n > 0 {
		return &KeyError{Path: s.keyPath, Detail: fmt.Sprintf("key file is missing but the queue holds %d encrypted entries: restore the key file (or point --key-file at it); do not delete the queue", n)}
	}
	if s.opts.ReadOnly {
		return nil
	}
	key, err := newKey()
	if err != nil {
		return &KeyError{Path: s.keyPath, Detail: "cannot generate key", Err: err}
	}
	k = &keyring{}
	if _, err := k.add(key); err != nil {
		return &KeyError{Path: s.keyPath, Detail: "cannot use key", Err: err}
	}
	if err := writeFileAtomic(s.keyPath, k.marshal()); err != nil {
		return &KeyError{Path: s.keyPath, Detail: "cannot create key file", Err: err}
	}
	s.log.Info("offline queue: created a new payload key file", "path", s.keyPath, "key_id", k.current())
	s.keys.Store(k)
	return nil
}

// Close waits for commits in progress and closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.commits.Wait()
	return s.db.Close()
}

// Path returns the queue file path.
func (s *Store) Path() string { return s.path }

// CardKey returns the velocity key of a card: HMAC-SHA256 of the PAN with
// the device secret. It identifies the card for per-card limits without
// storing the PAN.
func (s *Store) CardKey(pan string) []byte { return cardKey(s.secret, pan) }

// Notify returns a channel that receives a value when entries may have
// become due (enqueue, release, retry). The Forwarder waits on it.
func (s *Store) Notify() <-chan struct{} { return s.notify }

func (s *Store) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *Store) wrapWrite(op string, err error) error {
	if err == nil {
		return nil
	}
	var le *LimitError
	var se *StateError
	var ce *CorruptError
	var re *RecordError
	var ke *KeyError
	switch {
	case errors.As(err, &le), errors.As(err, &se), errors.As(err, &ce), errors.As(err, &re), errors.As(err, &ke),
		errors.Is(err, ErrNotFound), errors.Is(err, ErrDuplicate), errors.Is(err, ErrInvalidEntry), errors.Is(err, ErrClosed):
		return err
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return ErrClosed
	}
	return &StorageError{Op: op, Path: s.path, Err: err}
}

func (s *Store) update(op string, fn func(tx *bolt.Tx) error) error {
	return s.updateSync(op, true, fn)
}

// updateSync runs one write transaction; with sync false it is committed
// without fsync (it survives a process crash, not a power cut, until the
// next synced commit). wmu serialises writers so that the per-transaction
// fsync switch (bbolt reads DB.NoSync only while committing) cannot leak
// into another writer's commit.
func (s *Store) updateSync(op string, sync bool, fn func(tx *bolt.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	synced := sync && !s.opts.NoSync
	if !synced {
		s.db.NoSync = true
		defer func() { s.db.NoSync = s.opts.NoSync }()
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if h := s.opts.BeforeCommit; h != nil {
			if err := h(op); err != nil {
				return err
			}
		}
		if h := s.opts.testHookCommit; h != nil {
			return h(op)
		}
		return nil
	})
	if err == nil && s.opts.OnCommit != nil {
		s.opts.OnCommit(op, synced)
	}
	return s.wrapWrite(op, err)
}

func validateEntry(e *Entry) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidEntry, fmt.Sprintf(format, a...))
	}
	switch {
	case e.ID == "" || len(e.ID) > MaxIDLen || !utf8.ValidString(e.ID) || strings.IndexFunc(e.ID, unicode.IsControl) >= 0:
		return bad("id must be 1..%d bytes of UTF-8 without control characters", MaxIDLen)
	case !validKind(e.Kind):
		return bad("unknown kind %q", e.Kind)
	case e.State != "" && e.State != StatePending && e.State != StateHeld && e.State != StateKept:
		return bad("state %q: an entry is enqueued pending, held or kept", e.State)
	case e.State == StateHeld && e.Kind != KindReversal:
		return bad("only a reversal can be held")
	case (e.State == StateKept) != (e.Kind == KindRecord):
		return bad("a record, and only a record, is enqueued kept")
	case e.Amount < 0:
		return bad("negative amount")
	case len(e.Currency) > 3:
		return bad("currency %q is not an ISO 4217 code", e.Currency)
	case e.Kind == KindAdvice && e.Currency == "":
		return bad("an advice needs a currency")
	case len(e.Payload) > MaxPayload:
		return bad("payload of %d bytes exceeds %d", len(e.Payload), MaxPayload)
	case len(e.CardKey) > 64:
		return bad("card key longer than 64 bytes")
	}
	return nil
}

// Enqueue stores e durably: it returns only after the entry is fsync'd
// (concurrent calls share one commit). State "" means pending; StateHeld
// is an armed reversal that is not sent until Release. An advice is
// admitted only within the offline limits (*LimitError otherwise). A
// duplicate id returns ErrDuplicate; a failed write returns a
// *StorageError and stores nothing.
//
// ctx is checked before the entry is queued for commit; once queued the
// commit is not abandoned (a caller must never believe an entry absent
// that was in fact stored).
func (s *Store) Enqueue(ctx context.Context, e Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateEntry(&e); err != nil {
		return err
	}
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	sealed, err := s.prepare(&e)
	if err != nil {
		return err
	}
	req := &enqReq{e: e, sealed: sealed, done: make(chan struct{})}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.pending = append(s.pending, req)
	lead := !s.committing
	if lead {
		s.committing = true
		s.commits.Add(1)
	}
	s.mu.Unlock()
	if lead {
		s.commitRound()
	}
	<-req.done
	if req.err == nil {
		s.wake()
	}
	return req.err
}

// prepare fills the defaults of a new entry and seals its payload. The
// caller holds keyMu for reading until the entry is committed.
func (s *Store) prepare(e *Entry) ([]byte, error) {
	if e.State == "" {
		e.State = StatePending
	}
	if e.Created.IsZero() {
		e.Created = s.opts.now()
	}
	e.Attempts, e.Reason, e.Declined, e.Finished, e.Seq = 0, "", false, time.Time{}, 0
	keys := s.keys.Load()
	if keys == nil {
		return nil, &KeyError{Path: s.keyPath, Detail: "store opened without a key"}
	}
	sl, err := keys.seal(e.ID, e.Payload)
	if err != nil {
		return nil, &KeyError{Path: s.keyPath, Detail: "sealing payload", Err: err}
	}
	return encodeSealed(sl), nil
}

// commitRound commits everything pending as one transaction; if more
// arrived meanwhile, a new goroutine takes the next round so this caller
// can return.
func (s *Store) commitRound() {
	s.mu.Lock()
	batch := s.pending
	s.pending = nil
	s.mu.Unlock()

	now := s.opts.now()
	err := s.update("enqueue", func(tx *bolt.Tx) error {
		for _, r := range batch {
			r.err = nil
			if err := s.putNew(tx, &r.e, r.sealed, now); err != nil {
				if isRequestError(err) {
					r.err = err
					continue
				}
				return err
			}
		}
		return nil
	})
	for _, r := range batch {
		if err != nil && r.err == nil {
			r.err = err
		}
		close(r.done)
	}

	s.mu.Lock()
	if len(s.pending) > 0 {
		s.mu.Unlock()
		go s.commitRound()
		return
	}
	s.committing = false
	s.mu.Unlock()
	s.commits.Done()
}

// isRequestError reports errors that concern one request only (nothing of
// it was written), as opposed to errors that abort the transaction.
func isRequestError(err error) bool {
	var le *LimitError
	return errors.Is(err, ErrDuplicate) || errors.As(err, &le)
}

// putNew validates and writes a new entry inside tx. Duplicate and limit
// errors are returned before anything is written.
func (s *Store) putNew(tx *bolt.Tx, e *Entry, sealedRec []byte, now time.Time) error {
	entries := tx.Bucket(bktEntries)
	if entries.Get([]byte(e.ID)) != nil {
		return fmt.Errorf("%w: %s", ErrDuplicate, e.ID)
	}
	if e.Kind == KindAdvice {
		if err := s.checkLimitsTx(tx, e.Amount, e.Currency, e.CardKey, now); err != nil {
			return err
		}
	}
	seq, err := entries.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	if err := entries.Put(payloadKey(e.ID), sealedRec); err != nil {
		return err
	}
	if err := putEntry(tx, e); err != nil {
		return err
	}
	if queued(e.State) {
		if err := tx.Bucket(bktQueue).Put(queueKey(e), []byte(e.ID)); err != nil {
			return err
		}
	}
	return addCounters(tx, e, +1)
}

func queueKey(e *Entry) []byte {
	k := make([]byte, 9)
	k[0] = kindRank(e.Kind)
	binary.BigEndian.PutUint64(k[1:], e.Seq)
	return k
}

func doneKey(e *Entry) []byte {
	k := make([]byte, 8, 8+len(e.ID))
	binary.BigEndian.PutUint64(k, uint64(e.Finished.UnixNano()))
	return append(k, e.ID...)
}

// payloadKey is the key of an entry's sealed payload: right after the
// entry's own key, so both usually share a leaf page and one commit writes
// fewer pages. Ids hold no control characters.
func payloadKey(id string) []byte { return []byte(id + "\x00") }

func isPayloadKey(k []byte) bool { return len(k) > 0 && k[len(k)-1] == 0 }

// forEachEntry calls fn for the entry records of b (not the payloads).
func forEachEntry(b *bolt.Bucket, fn func(k, v []byte) error) error {
	return b.ForEach(func(k, v []byte) error {
		if isPayloadKey(k) {
			return nil
		}
		return fn(k, v)
	})
}

func countPayloads(b *bolt.Bucket) int {
	n := 0
	b.ForEach(func(k, _ []byte) error {
		if isPayloadKey(k) {
			n++
		}
		return nil
	})
	return n
}

func putEntry(tx *bolt.Tx, e *Entry) error {
	return tx.Bucket(bktEntries).Put([]byte(e.ID), encodeEntry(e))
}

func getEntry(tx *bolt.Tx, id string) (Entry, error) {
	v := tx.Bucket(bktEntries).Get([]byte(id))
	if v == nil {
		return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return decodeEntry(v)
}

// counted reports whether e counts towards the offline limits.
func counted(e *Entry) bool { return e.Kind == KindAdvice && queued(e.State) }

func curCounterKey(currency string) []byte { return []byte("cur\x00" + currency) }

func cardCounterKey(currency string, ck []byte) []byte {
	return append([]byte("card\x00"+currency+"\x00"), ck...)
}

func addCounter(b *bolt.Bucket, key []byte, amount int64, sign int64) error {
	var c counter
	if v := b.Get(key); v != nil {
		var err error
		if c, err = decodeCounter(v); err != nil {
			return err
		}
	}
	c.Count += sign
	c.Amount += sign * amount
	if c.Count <= 0 {
		return b.Delete(key)
	}
	return b.Put(key, encodeCounter(c))
}

// addCounters adds (sign=+1) or removes (sign=-1) e's share of the
// outstanding counters; it must be called while e is in a counted state.
func addCounters(tx *bolt.Tx, e *Entry, sign int64) error {
	if !counted(e) {
		return nil
	}
	b := tx.Bucket(bktCounters)
	if err := addCounter(b, curCounterKey(e.Currency), e.Amount, sign); err != nil {
		return err
	}
	if len(e.CardKey) > 0 {
		return addCounter(b, cardCounterKey(e.Currency, e.CardKey), e.Amount, sign)
	}
	return nil
}

func readCounter(b *bolt.Bucket, key []byte) (counter, error) {
	v := b.Get(key)
	if v == nil {
		return counter{}, nil
	}
	return decodeCounter(v)
}

// setState moves e to state next, keeping the queue, done index and
// counters consistent, and writes it.
func setState(tx *bolt.Tx, e *Entry, next State, now time.Time) error {
	wasQueued, wasDone := queued(e.State), e.State == StateDone
	if err := addCounters(tx, e, -1); err != nil {
		return err
	}
	if wasDone {
		if err := tx.Bucket(bktDone).Delete(doneKey(e)); err != nil {
			return err
		}
	}
	e.State = next
	if next == StateDone || next == StateFailed {
		e.Finished = now
	} else {
		e.Finished = time.Time{}
	}
	switch {
	case queued(next) && !wasQueued:
		if err := tx.Bucket(bktQueue).Put(queueKey(e), []byte(e.ID)); err != nil {
			return err
		}
	case !queued(next) && wasQueued:
		if err := tx.Bucket(bktQueue).Delete(queueKey(e)); err != nil {
			return err
		}
	}
	if next == StateDone {
		if err := tx.Bucket(bktDone).Put(doneKey(e), nil); err != nil {
			return err
		}
	}
	if err := addCounters(tx, e, +1); err != nil {
		return err
	}
	return putEntry(tx, e)
}

// Release turns a held reversal into a pending one: the forwarder will now
// send it. Releasing a pending reversal is a no-op; others are a
// *StateError.
func (s *Store) Release(id string) error {
	return s.Commit(context.Background(), "release", func(t *Tx) error { return t.Release(id) })
}

// Cancel removes a held reversal (its response came: nothing to reverse).
// Any other state is a *StateError: a released reversal must go out.
func (s *Store) Cancel(id string) error {
	return s.Commit(context.Background(), "cancel", func(t *Tx) error { return t.Cancel(id) })
}

func deleteEntry(tx *bolt.Tx, e *Entry) error {
	if err := addCounters(tx, e, -1); err != nil {
		return err
	}
	if queued(e.State) {
		if err := tx.Bucket(bktQueue).Delete(queueKey(e)); err != nil {
			return err
		}
	}
	if e.State == StateDone {
		if err := tx.Bucket(bktDone).Delete(doneKey(e)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bktEntries).Delete(payloadKey(e.ID)); err != nil {
		return err
	}
	return tx.Bucket(bktEntries).Delete([]byte(e.ID))
}

// Get returns the entry with its payload decrypted (ErrNotFound if none).
func (s *Store) Get(id string) (Entry, error) {
	var e Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if e, err = getEntry(tx, id); err != nil {
			return err
		}
		return s.openPayload(tx, &e)
	})
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return Entry{}, ErrClosed
	}
	return e, err
}

// openPayload reads and decrypts e's payload.
func (s *Store) openPayload(tx *bolt.Tx, e *Entry) error {
	v := tx.Bucket(bktEntries).Get(payloadKey(e.ID))
	if v == nil {
		return &CorruptError{Path: s.path, Detail: fmt.Sprintf("entry %s has no payload record", e.ID)}
	}
	sl, err := decodeSealed(v)
	if err != nil {
		return err
	}
	e.KeyID = sl.KeyID
	k := s.keys.Load()
	if k == nil {
		return &KeyError{Path: s.keyPath, Detail: "no key file"}
	}
	plain, err := k.open(e.ID, sl)
	if err != nil {
		var ce *CorruptError
		if errors.As(err, &ce) {
			ce.Path = s.path
		}
		var ke *KeyError
		if errors.As(err, &ke) {
			ke.Path = s.keyPath
		}
		return err
	}
	e.Payload = plain
	return nil
}

// Retry puts a failed entry back in the queue (keeping its place) to be
// sent as soon as possible; a pending entry is made due now.
func (s *Store) Retry(id string) error {
	err := s.update("retry", func(tx *bolt.Tx) error {
		e, err := getEntry(tx, id)
		if err != nil {
			return err
		}
		switch e.State {
		case StateFailed, StatePending:
			e.NextAttempt, e.Reason = time.Time{}, ""
			return setState(tx, &e, StatePending, s.opts.now())
		}
		return &StateError{Op: "retry", ID: id, State: e.State}
	})
	if err == nil {
		s.wake()
	}
	return err
}

// Purge deletes done entries that finished before cutoff and returns how
// many it removed. Failed and queued entries are never purged.
func (s *Store) Purge(cutoff time.Time) (int, error) {
	total := 0
	for {
		n := 0
		err := s.update("purge", func(tx *bolt.Tx) error {
			n = 0
			c := tx.Bucket(bktDone).Cursor()
			var ids []string
			for k, _ := c.First(); k != nil && n < 1000; k, _ = c.Next() {
				if len(k) < 8 || int64(binary.BigEndian.Uint64(k)) >= cutoff.UnixNano() {
					break
				}
				ids = append(ids, string(k[8:]))
				n++
			}
			for _, id := range ids {
				e, err := getEntry(tx, id)
				if err != nil {
					return err
				}
				if err := deleteEntry(tx, &e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < 1000 {
			return total, nil
		}
	}
}

// Scan calls fn for every entry in queue order (reversals, then advices,
// oldest first) followed by the finished entries in id order. Payloads are
// not decrypted (Payload is nil; KeyID is set).
func (s *Store) Scan(fn func(Entry) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		entries := tx.Bucket(bktEntries)
		emit := func(e Entry) error {
			if v := entries.Get(payloadKey(e.ID)); v != nil {
				if sl, err := decodeSealed(v); err == nil {
					e.KeyID = sl.KeyID
				}
			}
			return fn(e)
		}
		qc := tx.Bucket(bktQueue).Cursor()
		for k, id := qc.First(); k != nil; k, id = qc.Next() {
			e, err := getEntry(tx, string(id))
			if err != nil {
				return err
			}
			if err := emit(e); err != nil {
				return err
			}
		}
		return forEachEntry(entries, func(_, v []byte) error {
			e, err := decodeEntry(v)
			if err != nil {
				return err
			}
			if queued(e.State) {
				return nil
			}
			return emit(e)
		})
	})
}

// Stats summarises the queue.
type Stats struct {
	ByState       map[State]int
	ByKind        map[Kind]int
	Outstanding   map[string]Outstanding // per currency: offline approvals not yet forwarded
	OldestPending time.Time              // oldest queued entry (zero if none)
	NextAttempt   time.Time              // earliest next attempt of a pending entry
	KeyID         string                 // current payload key
	FileSize      int64
}

// Outstanding is the count and amount of offline approvals not yet forwarded.
type Outstanding struct {
	Count  int64
	Amount int64
}

// Stats reports counts per state and kind and the outstanding amounts.
func (s *Store) Stats() (Stats, error) {
	st := Stats{ByState: map[State]int{}, ByKind: map[Kind]int{}, Outstanding: map[string]Outstanding{}}
	err := s.db.View(func(tx *bolt.Tx) error {
		st.FileSize = tx.Size()
		if err := forEachEntry(tx.Bucket(bktEntries), func(_, v []byte) error {
			e, err := decodeEntry(v)
			if err != nil {
				return err
			}
			st.ByState[e.State]++
			st.ByKind[e.Kind]++
			if queued(e.State) && (st.OldestPending.IsZero() || e.Created.Before(st.OldestPending)) {
				st.OldestPending = e.Created
			}
			if e.State == StatePending && (st.NextAttempt.IsZero() || e.NextAttempt.Before(st.NextAttempt)) {
				st.NextAttempt = e.NextAttempt
			}
			return nil
		}); err != nil {
			return err
		}
		c := tx.Bucket(bktCounters).Cursor()
		prefix := []byte("cur\x00")
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			cnt, err := decodeCounter(v)
			if err != nil {
				return err
			}
			st.Outstanding[string(k[len(prefix):])] = Outstanding(cnt)
		}
		return nil
	})
	if k := s.keys.Load(); k != nil {
		st.KeyID = k.current()
	}
	return st, err
}
