package offline

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Check verifies the file: bbolt's page-level consistency, then the
// queue's own invariants (every queued entry is in the queue exactly once,
// every record decodes, the limit counters match the entries). Problems
// are reported as a *CorruptError.
func (s *Store) Check() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &CorruptError{Path: s.path, Detail: fmt.Sprintf("reading the file failed (%v)", r)}
		}
	}()
	err = s.db.View(func(tx *bolt.Tx) error {
		var errs []string
		for e := range tx.Check() {
			if len(errs) < 5 {
				errs = append(errs, e.Error())
			}
		}
		if len(errs) > 0 {
			return &CorruptError{Path: s.path, Detail: "bbolt consistency check: " + strings.Join(errs, "; ")}
		}
		if err := checkInvariants(tx); err != nil {
			var ce *CorruptError
			if errors.As(err, &ce) {
				ce.Path = s.path
				return ce
			}
			return &CorruptError{Path: s.path, Detail: "queue records", Err: err}
		}
		return nil
	})
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func checkInvariants(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			if tx.Writable() {
				return &CorruptError{Detail: fmt.Sprintf("bucket %q missing", name)}
			}
			// A read-only open of a file that was never initialised.
			return nil
		}
	}
	bad := func(format string, a ...any) error {
		return &CorruptError{Detail: fmt.Sprintf(format, a...)}
	}
	entries, q, done := tx.Bucket(bktEntries), tx.Bucket(bktQueue), tx.Bucket(bktDone)
	want := map[string]counter{}
	nQueued, nDone, nEntries := 0, 0, 0
	err := forEachEntry(entries, func(k, v []byte) error {
		nEntries++
		e, err := decodeEntry(v)
		if err != nil {
			return err
		}
		if string(k) != e.ID {
			return bad("entry key %q holds id %q", k, e.ID)
		}
		pv := entries.Get(payloadKey(e.ID))
		if pv == nil {
			return bad("entry %s has no payload", e.ID)
		}
		if _, err := decodeSealed(pv); err != nil {
			return err
		}
		if queued(e.State) {
			nQueued++
			if id := q.Get(queueKey(&e)); !bytes.Equal(id, k) {
				return bad("queued entry %s (%s) missing from the queue", e.ID, e.State)
			}
		}
		if e.State == StateDone {
			nDone++
			if done.Get(doneKey(&e)) == nil {
				return bad("done entry %s missing from the done index", e.ID)
			}
		}
		if counted(&e) {
			add := func(key string) {
				c := want[key]
				c.Count++
				c.Amount += e.Amount
				want[key] = c
			}
			add(string(curCounterKey(e.Currency)))
			if len(e.CardKey) > 0 {
				add(string(cardCounterKey(e.Currency, e.CardKey)))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n := q.Stats().KeyN; n != nQueued {
		return bad("queue holds %d keys for %d queued entries", n, nQueued)
	}
	if n := done.Stats().KeyN; n != nDone {
		return bad("done index holds %d keys for %d done entries", n, nDone)
	}
	if n := countPayloads(entries); n != nEntries {
		return bad("%d payloads for %d entries", n, nEntries)
	}
	got := 0
	err = tx.Bucket(bktCounters).ForEach(func(k, v []byte) error {
		c, err := decodeCounter(v)
		if err != nil {
			return err
		}
		got++
		if w := want[string(k)]; w != c {
			return bad("limit counter %q is %d/%d, entries say %d/%d", printableKey(k), c.Count, c.Amount, w.Count, w.Amount)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if got != len(want) {
		return bad("%d limit counters stored, entries need %d", got, len(want))
	}
	return nil
}

// printableKey shows a counter key without the card key bytes.
func printableKey(k []byte) string {
	if i := bytes.IndexByte(k, 0); i >= 0 && string(k[:i]) == "card" {
		rest := k[i+1:]
		if j := bytes.IndexByte(rest, 0); j >= 0 {
			return "card/" + string(rest[:j]) + "/…"
		}
	}
	return strings.ReplaceAll(string(k), "\x00", "/")
}
