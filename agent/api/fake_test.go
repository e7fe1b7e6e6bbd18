package api_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"posagent/agent"
	"posagent/agent/api"
	"posagent/money"
)

// fakeEngine is a small in-memory stand-in for agent.Engine, for the unit
// tests of the route table until the real engine is wired in. A payment
// waits for a card on tap (an outcome: "approve", "decline", "offline"),
// then goes online and waits for an answer on answer (a response code),
// unless auto is set, which runs every payment straight to its outcome.
type fakeEngine struct {
	mu       sync.Mutex
	auto     string
	pays     map[string]*fakePay
	order    []string
	inFlight string
	events   []agent.Event
	subs     map[int]chan agent.Event
	nextSub  int
	queue    []api.QueueEntry
	tap      chan string
	answer   chan string
	closed   bool
	now      func() time.Time
}

type fakePay struct {
	p      agent.Payment
	digest [32]byte
	done   chan struct{}
	abort  chan struct{}
}

func newFake() *fakeEngine {
	return &fakeEngine{pays: map[string]*fakePay{}, subs: map[int]chan agent.Event{},
		tap: make(chan string), answer: make(chan string), now: time.Now}
}

func (f *fakeEngine) publishLocked(ev agent.Event) {
	ev.ID = uint64(len(f.events) + 1)
	ev.At = f.now()
	f.events = append(f.events, ev)
	for _, ch := range f.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

func (f *fakeEngine) setLocked(fp *fakePay, s agent.State, note string) {
	fp.p.State, fp.p.Updated = s, f.now()
	fp.p.History = append(fp.p.History, agent.Step{State: s, At: fp.p.Updated, Note: note})
	f.publishLocked(agent.Event{Type: "state", Payment: fp.p.ID, State: s, Amount: fp.p.Amount, Currency: fp.p.Currency})
	if s.Final() && fp.done != nil {
		select {
		case <-fp.done:
		default:
			close(fp.done)
		}
		if f.inFlight == fp.p.ID {
			f.inFlight = ""
		}
	}
}

func validate(req agent.PaymentRequest) error {
	switch {
	case req.ID == "" || len(req.ID) > 64:
		return &agent.InvalidError{Field: "id", Reason: "1 to 64 characters"}
	case req.Amount <= 0:
		return &agent.InvalidError{Field: "amount", Reason: "must be more than zero"}
	case req.Offline != "" && req.Offline != agent.OfflineAllow && req.Offline != agent.OfflineDeny:
		return &agent.InvalidError{Field: "offline", Reason: "allow or deny"}
	case req.Capture != "" && req.Capture != agent.CaptureAuto && req.Capture != agent.CaptureManual:
		return &agent.InvalidError{Field: "capture", Reason: "auto or manual"}
	}
	if _, err := money.Parse(req.Currency); err != nil || strings.Trim(req.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return &agent.InvalidError{Field: "currency", Reason: "ISO 4217 alphabetic"}
	}
	return nil
}

func (f *fakeEngine) Start(ctx context.Context, req agent.PaymentRequest) (agent.Payment, error) {
	if err := validate(req); err != nil {
		return agent.Payment{}, err
	}
	digest := sha256.Sum256(fmt.Appendf(nil, "%d|%s|%s|%s|%s|%s", req.Amount, req.Currency, req.Reference, req.Offline, req.Capture, req.Reader))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return agent.Payment{}, agent.ErrClosed
	}
	if fp, ok := f.pays[req.ID]; ok {
		if fp.digest != digest {
			return agent.Payment{}, agent.ErrConflict
		}
		return fp.p, nil
	}
	if f.inFlight != "" {
		return agent.Payment{}, &agent.BusyError{InFlight: f.inFlight}
	}
	kind := agent.KindPurchase
	if req.Capture == agent.CaptureManual {
		kind = agent.KindPreAuth
	}
	now := f.now()
	fp := &fakePay{digest: digest, done: make(chan struct{}), abort: make(chan struct{}), p: agent.Payment{
		ID: req.ID, Kind: kind, Amount: req.Amount, Currency: req.Currency, Reference: req.Reference,
		Offline: req.Offline, Capture: req.Capture, Reader: "simulated", TerminalID: "POSAG001", MerchantID: "MERCHANT0000001",
		Created: now, Updated: now,
	}}
	f.pays[req.ID] = fp
	f.order = append(f.order, req.ID)
	f.inFlight = req.ID
	f.setLocked(fp, agent.StateCreated, "")
	f.setLocked(fp, agent.StateWaitingForCard, "")
	f.publishLocked(agent.Event{Type: "prompt", Payment: req.ID, Prompt: "present_card", Amount: req.Amount, Currency: req.Currency})
	go f.run(fp)
	return fp.p, nil
}

func (f *fakeEngine) run(fp *fakePay) {
	outcome := f.auto
	if outcome == "" {
		select {
		case outcome = <-f.tap:
		case <-fp.abort:
			f.mu.Lock()
			fp.p.Reason = agent.ReasonAborted
			f.setLocked(fp, agent.StateAborted, "aborted before the request left")
			f.mu.Unlock()
			return
		}
	}
	f.mu.Lock()
	fp.p.Scheme, fp.p.MaskedPAN, fp.p.AID, fp.p.EntryMode = "visa", "476173******0010", "A0000000031010", "contactless"
	f.setLocked(fp, agent.StateReading, "")
	if outcome == "offline" {
		fp.p.AuthCode = "Y1"
		f.queue = append(f.queue, api.QueueEntry{ID: fp.p.ID, Payment: fp.p.ID, Kind: "advice", State: "pending", Amount: fp.p.Amount, Currency: fp.p.Currency, Created: f.now()})
		f.setLocked(fp, agent.StateApprovedOffline, "")
		f.receiptLocked(fp)
		f.mu.Unlock()
		return
	}
	f.setLocked(fp, agent.StateOnline, "")
	f.mu.Unlock()
	rc := "00"
	if outcome == "decline" {
		rc = "05"
	}
	if f.auto == "" {
		select {
		case rc = <-f.answer:
		case <-fp.abort:
			f.mu.Lock()
			fp.p.Reversed, fp.p.Reason = true, agent.ReasonAborted
			f.setLocked(fp, agent.StateReversed, "aborted after the request left")
			f.mu.Unlock()
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fp.p.Response, fp.p.STAN = rc, fmt.Sprintf("%06d", len(f.order))
	if rc == "00" {
		fp.p.AuthCode = "123456"
		f.setLocked(fp, agent.StateApproved, "")
	} else {
		fp.p.Reason = agent.ReasonIssuerDeclined
		f.setLocked(fp, agent.StateDeclined, "")
	}
	f.receiptLocked(fp)
}

func (f *fakeEngine) receiptLocked(fp *fakePay) {
	lines := []string{"POSAGENT DEMO SHOP", fp.p.MaskedPAN, string(fp.p.State)}
	fp.p.Receipt = &agent.Receipt{Merchant: lines, Customer: lines, Fields: map[string]string{"pan": fp.p.MaskedPAN}}
}

func (f *fakeEngine) Wait(ctx context.Context, id string) (agent.Payment, error) {
	f.mu.Lock()
	fp, ok := f.pays[id]
	f.mu.Unlock()
	if !ok {
		return agent.Payment{}, agent.ErrNotFound
	}
	if fp.done != nil {
		select {
		case <-fp.done:
		case <-ctx.Done():
		}
	}
	return f.Get(id)
}

func (f *fakeEngine) Get(id string) (agent.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fp, ok := f.pays[id]
	if !ok {
		return agent.Payment{}, agent.ErrNotFound
	}
	p := fp.p
	p.History = slices.Clone(p.History)
	return p, nil
}

func (f *fakeEngine) Abort(ctx context.Context, id string) (agent.Payment, error) {
	f.mu.Lock()
	fp, ok := f.pays[id]
	if !ok {
		f.mu.Unlock()
		return agent.Payment{}, agent.ErrNotFound
	}
	if fp.p.State.Final() {
		f.mu.Unlock()
		return agent.Payment{}, fmt.Errorf("%w: payment is %s", agent.ErrWrongState, fp.p.State)
	}
	close(fp.abort)
	f.mu.Unlock()
	return f.Wait(ctx, id)
}

func (f *fakeEngine) Void(ctx context.Context, id string) (agent.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fp, ok := f.pays[id]
	if !ok {
		return agent.Payment{}, agent.ErrNotFound
	}
	if fp.p.State == agent.StateVoided {
		return fp.p, nil
	}
	if fp.p.State != agent.StateApproved && fp.p.State != agent.StateApprovedOffline {
		return agent.Payment{}, fmt.Errorf("%w: cannot void a %s payment", agent.ErrWrongState, fp.p.State)
	}
	f.setLocked(fp, agent.StateVoided, "")
	return fp.p, nil
}

func (f *fakeEngine) Capture(ctx context.Context, id string, amount int64) (agent.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fp, ok := f.pays[id]
	if !ok {
		return agent.Payment{}, agent.ErrNotFound
	}
	if fp.p.Kind != agent.KindPreAuth || fp.p.State != agent.StateApproved {
		return agent.Payment{}, fmt.Errorf("%w: not an authorised pre-authorisation", agent.ErrWrongState)
	}
	if amount <= 0 || amount > fp.p.Amount {
		return agent.Payment{}, &agent.InvalidError{Field: "amount", Reason: "more than zero, at most the authorised amount"}
	}
	fp.p.Captured = amount
	f.setLocked(fp, agent.StateCaptured, "")
	return fp.p, nil
}

func (f *fakeEngine) Refund(ctx context.Context, req agent.RefundRequest) (agent.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fp, ok := f.pays[req.ID]; ok {
		if fp.p.PaymentID != req.PaymentID || fp.p.Amount != req.Amount {
			return agent.Payment{}, agent.ErrConflict
		}
		return fp.p, nil
	}
	orig, ok := f.pays[req.PaymentID]
	if !ok {
		return agent.Payment{}, agent.ErrNotFound
	}
	if orig.p.State != agent.StateApproved && orig.p.State != agent.StateCaptured {
		return agent.Payment{}, fmt.Errorf("%w: cannot refund a %s payment", agent.ErrWrongState, orig.p.State)
	}
	if req.Amount <= 0 || req.Amount > orig.p.Amount-orig.p.Refunded {
		return agent.Payment{}, &agent.InvalidError{Field: "amount", Reason: "more than what is left to refund"}
	}
	orig.p.Refunded += req.Amount
	now := f.now()
	fp := &fakePay{p: agent.Payment{ID: req.ID, Kind: agent.KindRefund, PaymentID: req.PaymentID, Amount: req.Amount,
		Currency: orig.p.Currency, Scheme: orig.p.Scheme, MaskedPAN: orig.p.MaskedPAN, TerminalID: orig.p.TerminalID,
		MerchantID: orig.p.MerchantID, Created: now, Updated: now, Response: "00"}}
	f.pays[req.ID] = fp
	f.order = append(f.order, req.ID)
	f.setLocked(fp, agent.StateRefunded, "")
	f.receiptLocked(fp)
	return fp.p, nil
}

func (f *fakeEngine) Totals(since time.Time) (api.Totals, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := api.Totals{Since: since, Until: f.now(), Rows: []api.TotalRow{}, Net: map[string]int64{}}
	idx := map[api.TotalRow]int{}
	for _, id := range f.order {
		p := f.pays[id].p
		if !p.State.Final() || p.Created.Before(since) {
			continue
		}
		k := api.TotalRow{State: p.State, Kind: p.Kind, Scheme: p.Scheme, Currency: p.Currency}
		i, ok := idx[k]
		if !ok {
			i = len(t.Rows)
			idx[k] = i
			t.Rows = append(t.Rows, k)
		}
		t.Rows[i].Count++
		t.Rows[i].Amount += p.Amount
		switch p.State {
		case agent.StateApproved, agent.StateApprovedOffline, agent.StateCaptured:
			t.Net[p.Currency] += p.Amount
		case agent.StateRefunded:
			t.Net[p.Currency] -= p.Amount
		}
	}
	return t, nil
}

func (f *fakeEngine) Status() api.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s api.Status
	s.Readers = append(s.Readers, api.InputStatus{Name: "simulated", Kind: "reader", Payment: f.inFlight})
	s.Uplink.Configured, s.Uplink.Up, s.Uplink.Addr = true, true, "127.0.0.1:5858"
	s.Queue.ByState = map[string]int{}
	s.Queue.Outstanding = map[string]int64{}
	for _, e := range f.queue {
		s.Queue.ByState[e.State]++
		s.Queue.Outstanding[e.Currency] += e.Amount
	}
	if len(f.queue) > 0 {
		s.Queue.OldestPending = f.queue[0].Created
	}
	return s
}

func (f *fakeEngine) QueueEntries() ([]api.QueueEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queue), nil
}

func (f *fakeEngine) ForwardNow(ctx context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.queue)
	f.queue = nil
	if n > 0 {
		f.publishLocked(agent.Event{Type: "queue", Message: fmt.Sprintf("%d forwarded", n)})
	}
	return n, nil
}

func (f *fakeEngine) Subscribe(lastID uint64) (<-chan agent.Event, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan agent.Event, 256)
	for _, ev := range f.events {
		if ev.ID > lastID {
			ch <- ev
		}
	}
	id := f.nextSub
	f.nextSub++
	f.subs[id] = ch
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs, id)
			f.mu.Unlock()
		})
	}
}

var _ api.Engine = (*fakeEngine)(nil)
