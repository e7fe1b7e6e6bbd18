package agent

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"posagent/offline"
)

// The payment ledger lives in buckets of the offline store's file, so that
// a payment's state and the queue entry it implies are one transaction.
const (
	bktPayments = "agent.payments" // id -> stored record (JSON)
	bktByTime   = "agent.bytime"   // created (8, big endian ns) + id -> nil
	bktMeta     = "agent.meta"     // engine counters
)

var keyEventBlock = []byte("event-block") // event ids below this may have been used

// eventBlock is how many event ids are reserved per durable write.
const eventBlock = 1 << 20

// stored is a payment as written: the public record and its request digest.
type stored struct {
	P  Payment `json:"p"`
	MD []byte  `json:"md"`
}

// Queue entry ids derived from a payment id (the payment's own id names
// its armed reversal or its advice).
const (
	sufKept = "#orig" // KindRecord: what void, capture and refund need
	sufVoid = "#void" // the void's reversal
	sufCap  = "#cap"  // the pre-authorisation's completion advice
)

func putPayment(tx *offline.Tx, p *Payment) error {
	b, err := tx.Bucket(bktPayments)
	if err != nil {
		return err
	}
	isNew := b.Get([]byte(p.ID)) == nil
	v, err := json.Marshal(stored{P: *p, MD: p.RequestMD})
	if err != nil {
		return err
	}
	if err := b.Put([]byte(p.ID), v); err != nil {
		return err
	}
	if isNew {
		t, err := tx.Bucket(bktByTime)
		if err != nil {
			return err
		}
		return t.Put(timeKey(p.Created, p.ID), nil)
	}
	return nil
}

func timeKey(t time.Time, id string) []byte {
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano()))
	return append(k, id...)
}

func decodeStored(id string, v []byte) (Payment, error) {
	var s stored
	if err := json.Unmarshal(v, &s); err != nil {
		return Payment{}, fmt.Errorf("agent: ledger record %s does not decode: %w", id, err)
	}
	s.P.RequestMD = s.MD
	return s.P, nil
}

// getPaymentTx reads a payment inside a write transaction.
func getPaymentTx(tx *offline.Tx, id string) (Payment, error) {
	b, err := tx.Bucket(bktPayments)
	if err != nil {
		return Payment{}, err
	}
	v := b.Get([]byte(id))
	if v == nil {
		return Payment{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return decodeStored(id, v)
}

// getPayment reads a payment.
func (e *Engine) getPayment(id string) (Payment, error) {
	var p Payment
	err := e.store.View(func(tx *offline.ReadTx) error {
		b := tx.Bucket(bktPayments)
		if b == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		v := b.Get([]byte(id))
		if v == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		var err error
		p, err = decodeStored(id, v)
		return err
	})
	return p, err
}

// scanPayments calls fn for payments created at or after since, oldest
// first, until fn returns false.
func (e *Engine) scanPayments(since time.Time, fn func(Payment) bool) error {
	return e.store.View(func(tx *offline.ReadTx) error {
		t, b := tx.Bucket(bktByTime), tx.Bucket(bktPayments)
		if t == nil || b == nil {
			return nil
		}
		c := t.Cursor()
		start := make([]byte, 8)
		if !since.IsZero() && since.UnixNano() > 0 {
			binary.BigEndian.PutUint64(start, uint64(since.UnixNano()))
		}
		for k, _ := c.Seek(start); k != nil; k, _ = c.Next() {
			if len(k) < 8 {
				continue
			}
			id := string(k[8:])
			v := b.Get([]byte(id))
			if v == nil {
				continue
			}
			p, err := decodeStored(id, v)
			if err != nil {
				return err
			}
			if !fn(p) {
				return nil
			}
		}
		return nil
	})
}

// eventBlockTx reserves the next block of event ids and returns its start.
func eventBlockTx(tx *offline.Tx) (uint64, error) {
	b, err := tx.Bucket(bktMeta)
	if err != nil {
		return 0, err
	}
	var start uint64
	if v := b.Get(keyEventBlock); len(v) == 8 {
		start = binary.BigEndian.Uint64(v)
	}
	next := make([]byte, 8)
	binary.BigEndian.PutUint64(next, start+eventBlock)
	return start, b.Put(keyEventBlock, next)
}
