package agent

import (
	"context"
	"errors"

	"posagent/offline"
)

// queue is the uplink client's Queue: the offline store, with the
// payment's state folded into the same commit as the entry the uplink
// writes. Arming a reversal writes the payment "online" in that commit;
// an advice writes its "approved_offline"; a release writes "reversed".
// A Cancel (the response came) is deferred to the payment's final commit,
// so an online payment costs two fsyncs and a crash before the final
// commit leaves the reversal armed (released at restart).
type queue struct{ e *Engine }

// fold is the state write that the next queue write for a payment
// carries, and what to do once it is durable.
type fold struct {
	write func(tx *offline.Tx) error
	after func()
}

// fold registers the state write that the next queue write for id carries.
func (e *Engine) fold(id string, f fold) {
	e.fmu.Lock()
	e.folds[id] = f
	e.fmu.Unlock()
}

func (e *Engine) takeFold(id string) fold {
	e.fmu.Lock()
	defer e.fmu.Unlock()
	f := e.folds[id]
	delete(e.folds, id)
	return f
}

// applyCancel carries out a deferred Cancel of id's armed reversal.
func (e *Engine) applyCancel(tx *offline.Tx, id string) error {
	e.fmu.Lock()
	pending := e.cancels[id]
	e.fmu.Unlock()
	if !pending {
		return nil
	}
	if err := tx.Cancel(id); err != nil && !errors.Is(err, offline.ErrNotFound) {
		return err
	}
	return nil
}

// cancelDone forgets a deferred Cancel once its commit is durable.
func (e *Engine) cancelDone(id string) {
	e.fmu.Lock()
	delete(e.cancels, id)
	e.fmu.Unlock()
}

func (q *queue) Enqueue(ctx context.Context, entry offline.Entry) error {
	f := q.e.takeFold(entry.ID)
	err := q.e.store.Commit(ctx, "agent: "+string(entry.Kind), func(tx *offline.Tx) error {
		if err := q.e.applyCancel(tx, entry.ID); err != nil {
			return err
		}
		if err := tx.Enqueue(entry); err != nil {
			return err
		}
		if f.write != nil {
			return f.write(tx)
		}
		return nil
	})
	if err != nil {
		return err
	}
	q.e.cancelDone(entry.ID)
	if f.after != nil {
		f.after()
	}
	return nil
}

func (q *queue) Cancel(id string) error {
	q.e.fmu.Lock()
	q.e.cancels[id] = true
	q.e.fmu.Unlock()
	return nil
}

// Release lets the armed reversal go and, in the same commit, marks the
// payment reversed (the request may have reached the acquirer).
func (q *queue) Release(id string) error {
	e := q.e
	reason, msg := ReasonNoResponse, "no usable answer from the acquirer: reversed"
	e.mu.Lock()
	r := e.runs[id]
	e.mu.Unlock()
	if r != nil {
		switch context.Cause(r.ctx) {
		case errAbort:
			reason, msg = ReasonAborted, "aborted after the request left: reversed"
		case errShutdown:
			reason, msg = ReasonShutdown, "stopped after the request left: reversed"
		}
	}
	var p Payment
	changed := false
	err := e.store.Commit(context.Background(), "agent: reversed", func(tx *offline.Tx) error {
		if err := tx.Release(id); err != nil {
			return err
		}
		var err error
		p, err = getPaymentTx(tx, id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if p.State != StateOnline {
			return nil
		}
		p.Reversed = true
		e.finalize(&p, StateReversed, reason, msg)
		changed = true
		return putPayment(tx, &p)
	})
	e.cancelDone(id)
	if err == nil && changed {
		e.announce(p)
	}
	return err
}

func (q *queue) Get(id string) (offline.Entry, error) { return q.e.store.Get(id) }

// Scan lets the uplink find reversals held from a previous life.
func (q *queue) Scan(fn func(offline.Entry) error) error { return q.e.store.Scan(fn) }

// CardKey keys per-card offline velocity.
func (q *queue) CardKey(pan string) []byte { return q.e.store.CardKey(pan) }
