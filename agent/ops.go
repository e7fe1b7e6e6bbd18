package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"posagent/offline"
	"posagent/uplink"
)

// Abort stops a payment in flight: before its request left it ends
// aborted; after, the request is reversed and the payment ends reversed
// (Payment.Reversed). It returns the final payment; a payment already
// final is returned with ErrWrongState.
func (e *Engine) Abort(ctx context.Context, id string) (Payment, error) {
	e.mu.Lock()
	r := e.runs[id]
	e.mu.Unlock()
	if r == nil {
		p, err := e.getPayment(id)
		if err != nil {
			return p, err
		}
		return p, fmt.Errorf("%w: payment %s is %s", ErrWrongState, id, p.State)
	}
	r.cancel(errAbort)
	select {
	case <-r.done:
	case <-ctx.Done():
	}
	return e.getPayment(id)
}

// keptRecord returns what void, capture and refund need of an approved
// payment: its kept record, or its advice for an offline approval.
func keptRecord(tx interface {
	Get(id string) (offline.Entry, error)
}, p *Payment) ([]byte, error) {
	if p.State == StateApprovedOffline {
		a, err := tx.Get(p.ID)
		if err != nil {
			return nil, err
		}
		if a.State != offline.StateDone {
			return nil, fmt.Errorf("%w: the offline approval's advice is not forwarded yet", ErrWrongState)
		}
		return uplink.KeptAdvice(a)
	}
	k, err := tx.Get(p.ID + sufKept)
	if err != nil {
		return nil, err
	}
	return k.Payload, nil
}

// Void reverses an approved payment (or an uncaptured pre-authorisation):
// state voided and its reversal queued in one commit; the forwarder sends
// the reversal exactly once. Voiding a voided payment returns it.
func (e *Engine) Void(ctx context.Context, id string) (Payment, error) {
	return e.void(ctx, id, "voided by the cashier")
}

func (e *Engine) void(ctx context.Context, id, msg string) (Payment, error) {
	return e.operate(ctx, "agent: voided", id, func(tx *offline.Tx, p *Payment) error {
		switch {
		case p.State == StateVoided:
			return errAlready
		case p.Kind == KindRefund || p.Refunded > 0:
			return fmt.Errorf("%w: payment %s is a refund or has refunds", ErrWrongState, id)
		case p.State != StateApproved && p.State != StateApprovedOffline:
			return fmt.Errorf("%w: payment %s is %s", ErrWrongState, id, p.State)
		}
		kept, err := keptRecord(tx, p)
		if err != nil {
			return err
		}
		entry, err := uplink.VoidEntry(id+sufVoid, kept, uplink.ReasonCustomerCancel)
		if err != nil {
			return err
		}
		if err := tx.Enqueue(entry); err != nil {
			return err
		}
		if p.State == StateApproved {
			if err := tx.Finish(id + sufKept); err != nil {
				return err
			}
		}
		e.finalize(p, StateVoided, "", msg)
		p.Reversed = true
		return nil
	})
}

// errAlready: the operation was done before (idempotent repeat).
var errAlready = errors.New("already done")

// operate runs an operation on a stored payment in one commit: fn checks
// and changes p and adds its queue entries; p is written with them.
func (e *Engine) operate(ctx context.Context, op, id string, fn func(tx *offline.Tx, p *Payment) error) (Payment, error) {
	unlock := e.lockOp(id)
	defer unlock()
	var p Payment
	err := e.store.Commit(ctx, op, func(tx *offline.Tx) error {
		var err error
		if p, err = getPaymentTx(tx, id); err != nil {
			return err
		}
		if err := fn(tx, &p); err != nil {
			return err
		}
		return putPayment(tx, &p)
	})
	if errors.Is(err, errAlready) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	e.announce(p)
	return p, nil
}

// Capture completes an approved pre-authorisation for amount (at most the
// authorised one): state captured and the completion advice queued in one
// commit. Capturing a captured payment with the same amount returns it.
func (e *Engine) Capture(ctx context.Context, id string, amount int64) (Payment, error) {
	if err := validAmount(amount); err != nil {
		return Payment{}, err
	}
	return e.operate(ctx, "agent: captured", id, func(tx *offline.Tx, p *Payment) error {
		switch {
		case p.Kind != KindPreAuth:
			return fmt.Errorf("%w: payment %s is not a pre-authorisation", ErrWrongState, id)
		case p.State == StateCaptured && p.Captured == amount:
			return errAlready
		case p.State != StateApproved:
			return fmt.Errorf("%w: payment %s is %s", ErrWrongState, id, p.State)
		case amount > p.Amount:
			return &InvalidError{Field: "amount", Reason: fmt.Sprintf("more than the authorised %d", p.Amount)}
		}
		kept, err := keptRecord(tx, p)
		if err != nil {
			return err
		}
		entry, err := uplink.CompletionEntry(id+sufCap, kept, amount)
		if err != nil {
			return err
		}
		if err := tx.Enqueue(entry); err != nil {
			return err
		}
		p.Captured = amount
		e.finalize(p, StateCaptured, "", "captured "+formatAmount(amount, p.Currency))
		return nil
	})
}

// expirePreAuths voids pre-authorisations left uncaptured past
// PreAuthExpiry.
func (e *Engine) expirePreAuths(ctx context.Context) {
	if e.cfg.PreAuthExpiry <= 0 {
		return
	}
	t := time.NewTicker(e.cfg.PreAuthCheck)
	defer t.Stop()
	for {
		e.expireOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (e *Engine) expireOnce(ctx context.Context) {
	cut := e.now().Add(-e.cfg.PreAuthExpiry)
	var due []string
	e.scanPayments(time.Time{}, func(p Payment) bool {
		if p.Kind == KindPreAuth && p.State == StateApproved && p.Updated.Before(cut) {
			due = append(due, p.ID)
		}
		return true
	})
	for _, id := range due {
		if _, err := e.void(ctx, id, "pre-authorisation not captured in time: voided automatically"); err != nil {
			e.log.Error("agent: automatic void failed", "payment", id, "err", err)
		}
	}
}

// Refund refunds part or all of an approved payment online, as a new
// payment (idempotent by req.ID) of kind refund.
func (e *Engine) Refund(ctx context.Context, req RefundRequest) (Payment, error) {
	if err := ValidID(req.ID); err != nil {
		return Payment{}, err
	}
	if err := validAmount(req.Amount); err != nil {
		return Payment{}, err
	}
	md := digest("refund", req.ID, req.PaymentID, req.Amount)
	unlock := e.lockOp(req.PaymentID)
	defer unlock()
	if old, err := e.getPayment(req.ID); err == nil {
		if !sameDigest(old.RequestMD, md) {
			return old, fmt.Errorf("%w: %s", ErrConflict, req.ID)
		}
		return old, nil
	}
	orig, err := e.getPayment(req.PaymentID)
	if err != nil {
		return Payment{}, err
	}
	base := orig.Amount
	switch {
	case orig.Kind == KindRefund:
		return orig, fmt.Errorf("%w: a refund cannot be refunded", ErrWrongState)
	case orig.State == StateCaptured:
		base = orig.Captured
	case orig.State == StateApproved && orig.Kind == KindPurchase, orig.State == StateApprovedOffline:
	default:
		return orig, fmt.Errorf("%w: payment %s is %s", ErrWrongState, orig.ID, orig.State)
	}
	if req.Amount > base-orig.Refunded {
		return orig, &InvalidError{Field: "amount", Reason: fmt.Sprintf("at most %d is left to refund", base-orig.Refunded)}
	}
	var kept []byte
	if err := e.store.View(func(tx *offline.ReadTx) error {
		var err error
		kept, err = keptRecord(tx, &orig)
		return err
	}); err != nil {
		return orig, err
	}
	now := e.now()
	p := Payment{ID: req.ID, Kind: KindRefund, Amount: req.Amount, Currency: orig.Currency, PaymentID: orig.ID,
		Scheme: orig.Scheme, MaskedPAN: orig.MaskedPAN, AID: orig.AID, Label: orig.Label, EntryMode: orig.EntryMode,
		TerminalID: e.term.TerminalID, MerchantID: e.term.MerchantID, Created: now, RequestMD: md, Offline: OfflineDeny}
	e.setState(&p, StateCreated, "")
	if err := e.commitState(&p, nil); err != nil {
		return p, err
	}
	rctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r := &run{id: p.ID, ctx: rctx, cancel: cancel, done: make(chan struct{})}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.finalize(&p, StateAborted, ReasonShutdown, "the engine is shutting down")
		return p, e.commitState(&p, nil)
	}
	e.runs[p.ID] = r
	e.runWG.Add(1)
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.runs, p.ID)
		e.mu.Unlock()
		close(r.done)
		e.runWG.Done()
	}()
	e.prompt(p.ID, PromptProcessing, "")
	online := p
	e.setState(&online, StateOnline, "refund armed and sent")
	e.fold(p.ID, fold{write: func(t *offline.Tx) error { return putPayment(t, &online) }, after: func() {
		r.sent.Store(true)
		e.announce(online)
	}})
	start := time.Now()
	res, err := e.client.Refund(rctx, p.ID, kept, p.Amount)
	e.takeFold(p.ID)
	if r.sent.Load() {
		p = online
	}
	if err := e.answer(r, &p, uplink.Transaction{Currency: numericOf(p.Currency)}, res, err, start); err != nil {
		return p, err
	}
	return p, nil
}

// addRefunded adds amount to the original payment's refunded amount, in
// the refund's final commit.
func (e *Engine) addRefunded(tx *offline.Tx, id string, amount int64) error {
	o, err := getPaymentTx(tx, id)
	if err != nil {
		return err
	}
	o.Refunded += amount
	o.Updated = e.now()
	o.History = append(o.History, Step{State: o.State, At: o.Updated, Note: "refunded " + formatAmount(amount, o.Currency)})
	o.Receipt = buildReceipt(&o, e.term.MerchantName)
	return putPayment(tx, &o)
}

// Totals counts and sums the payments created at or after since, per
// state, kind, scheme and currency.
func (e *Engine) Totals(since time.Time) (Totals, error) {
	t := Totals{Since: since, Until: e.now(), Net: map[string]int64{}}
	rows := map[TotalRow]*TotalRow{}
	err := e.scanPayments(since, func(p Payment) bool {
		k := TotalRow{State: p.State, Kind: p.Kind, Scheme: p.Scheme, Currency: p.Currency}
		row := rows[k]
		if row == nil {
			row = &TotalRow{State: p.State, Kind: p.Kind, Scheme: p.Scheme, Currency: p.Currency}
			rows[k] = row
		}
		amount := p.Amount
		if p.State == StateCaptured {
			amount = p.Captured
		}
		row.Count++
		row.Amount += amount
		switch {
		case p.Kind == KindRefund && p.State == StateRefunded:
			t.Net[p.Currency] -= p.Amount
		case p.Kind == KindPurchase && (p.State == StateApproved || p.State == StateApprovedOffline),
			p.Kind == KindPreAuth && p.State == StateCaptured:
			t.Net[p.Currency] += amount
		}
		return true
	})
	for _, r := range rows {
		t.Rows = append(t.Rows, *r)
	}
	sort.Slice(t.Rows, func(i, j int) bool {
		a, b := t.Rows[i], t.Rows[j]
		return fmt.Sprint(a.Currency, a.Kind, a.State, a.Scheme) < fmt.Sprint(b.Currency, b.Kind, b.State, b.Scheme)
	})
	return t, err
}

// Status reports the inputs, the uplink and the queue.
func (e *Engine) Status() Status {
	var s Status
	e.mu.Lock()
	for _, r := range e.cfg.Readers {
		s.Readers = append(s.Readers, InputStatus{Name: r.Name(), Kind: "reader", Payment: e.busy[r.Name()]})
	}
	for _, sc := range e.cfg.Scanners {
		s.Readers = append(s.Readers, InputStatus{Name: sc.Name(), Kind: "scanner", Payment: e.busy[sc.Name()]})
	}
	e.mu.Unlock()
	s.Uplink = UplinkStatus{Configured: !e.client.Offline(), Up: e.client.Ready()}
	if e.cfg.Acquirer != nil {
		s.Uplink.Addr = e.cfg.Acquirer.Addr
	}
	s.Queue = QueueStatus{ByState: map[string]int{}, Outstanding: map[string]int64{}}
	if st, err := e.store.Stats(); err == nil {
		for k, n := range st.ByState {
			s.Queue.ByState[string(k)] = n
		}
		for c, o := range st.Outstanding {
			s.Queue.Outstanding[alphaOf(c)] = o.Amount
		}
		s.Queue.OldestPending = st.OldestPending
	}
	return s
}

// paymentOf names the payment a queue entry belongs to.
func paymentOf(entryID string) string {
	for _, suf := range []string{sufKept, sufVoid, sufCap} {
		if id, ok := strings.CutSuffix(entryID, suf); ok {
			return id
		}
	}
	return entryID
}

// QueueEntries lists the queue's messages (not the kept records).
func (e *Engine) QueueEntries() ([]QueueEntry, error) {
	var out []QueueEntry
	err := e.store.Scan(func(en offline.Entry) error {
		if en.Kind == offline.KindRecord {
			return nil
		}
		out = append(out, QueueEntry{ID: en.ID, Payment: paymentOf(en.ID), Kind: string(en.Kind), State: string(en.State),
			Amount: en.Amount, Currency: alphaOf(en.Currency), Attempts: en.Attempts, Created: en.Created,
			NextAttempt: en.NextAttempt, Reason: en.Reason, Declined: en.Declined})
		return nil
	})
	return out, err
}

// forwarder is a forwarder of the engine's queue through its uplink.
func (e *Engine) forwarder() *offline.Forwarder {
	return &offline.Forwarder{Store: e.store, Sender: e.client, Logger: e.log, OnEvent: e.onQueueEvent,
		BackoffBase: e.cfg.ForwardBackoff, BackoffMax: e.cfg.ForwardBackoffMax, Poll: e.cfg.ForwardPoll, Now: e.cfg.Now}
}

// ForwardNow makes every pending entry due and forwards until nothing is
// due or ctx ends. It returns how many entries were sent.
func (e *Engine) ForwardNow(ctx context.Context) (int, error) {
	e.fwdMu.Lock()
	defer e.fwdMu.Unlock()
	var due []string
	if err := e.store.Scan(func(en offline.Entry) error {
		if en.State == offline.StatePending && en.NextAttempt.After(e.now()) {
			due = append(due, en.ID)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	for _, id := range due {
		if err := e.store.Retry(id); err != nil && !errors.As(err, new(*offline.StateError)) {
			return 0, err
		}
	}
	f := e.forwarder()
	total := 0
	for ctx.Err() == nil {
		n, err := f.Step(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
	return total, ctx.Err()
}

// onQueueEvent turns the forwarder's news into events (after its outcome
// is durable); an issuer decline of an offline approval is also recorded
// on the payment.
func (e *Engine) onQueueEvent(ev offline.Event) {
	id := paymentOf(ev.ID)
	switch ev.Type {
	case offline.EventDeclinedOffline:
		var p Payment
		err := e.store.Commit(context.Background(), "agent: declined later", func(tx *offline.Tx) error {
			var err error
			if p, err = getPaymentTx(tx, id); err != nil {
				return err
			}
			p.DeclinedLater = true
			p.Updated = e.now()
			p.History = append(p.History, Step{State: p.State, At: p.Updated, Note: "issuer declined the offline approval: " + ev.Reason})
			return putPayment(tx, &p)
		})
		if err != nil {
			e.log.Error("agent: recording an issuer decline failed", "payment", id, "err", err)
		}
		e.events.publish(Event{Type: EventDeclinedOffline, Payment: id, State: p.State, Amount: ev.Amount,
			Currency: alphaOf(ev.Currency), Message: ev.Reason})
	default:
		e.events.publish(Event{Type: EventQueue, Payment: id, Amount: ev.Amount, Currency: alphaOf(ev.Currency),
			Message: string(ev.Type) + ": " + ev.Reason})
	}
}

// watchUplink reports the uplink's state changes.
func (e *Engine) watchUplink(ctx context.Context) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	first := true
	for {
		up := e.client.Ready()
		if first || up != e.uplinkUp.Load() {
			e.uplinkUp.Store(up)
			if e.obs != nil {
				e.obs.Uplink(up)
			}
			first = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
