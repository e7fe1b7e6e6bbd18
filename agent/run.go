package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"posagent/emv"
	"posagent/offline"
	"posagent/uplink"
)

// Start creates the payment (idempotent by ID: the same request returns
// the stored payment, a different one ErrConflict) and runs it in the
// background. It returns the payment as created. A second card payment
// while one waits or reads on the same input is a *BusyError.
func (e *Engine) Start(ctx context.Context, req PaymentRequest) (Payment, error) {
	if err := ValidID(req.ID); err != nil {
		return Payment{}, err
	}
	if err := validAmount(req.Amount); err != nil {
		return Payment{}, err
	}
	if _, ok := currencyOf(req.Currency); !ok {
		return Payment{}, &InvalidError{Field: "currency", Reason: "not a supported ISO 4217 alphabetic code"}
	}
	switch req.Offline {
	case OfflineDefault, OfflineAllow, OfflineDeny:
	default:
		return Payment{}, &InvalidError{Field: "offline", Reason: "must be allow or deny"}
	}
	if req.Capture == "" {
		req.Capture = CaptureAuto
	}
	if req.Capture != CaptureAuto && req.Capture != CaptureManual {
		return Payment{}, &InvalidError{Field: "capture", Reason: "must be auto or manual"}
	}
	if len(req.Reference) > 64 {
		return Payment{}, &InvalidError{Field: "reference", Reason: "at most 64 characters"}
	}
	parts := []any{"payment", req.ID, req.Amount, req.Currency, req.Reference, req.Offline, req.Capture, req.Reader}
	if req.Method != MethodInputs {
		parts = append(parts, req.Method) // digests of card payments stay what they were
	}
	md := digest(parts...)

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return Payment{}, ErrClosed
	}
	old, err := e.getPayment(req.ID)
	if err == nil {
		if !sameDigest(old.RequestMD, md) {
			return old, fmt.Errorf("%w: %s", ErrConflict, req.ID)
		}
		return old, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Payment{}, err
	}
	var inputs []string
	var payload string
	switch req.Method {
	case MethodInputs:
		if inputs, err = e.inputsFor(req.Reader); err != nil {
			return Payment{}, err
		}
	case MethodQRMerchant:
		if payload, err = e.merchantPayload(req); err != nil {
			return Payment{}, err
		}
	default:
		return Payment{}, &InvalidError{Field: "method", Reason: "must be qr_merchant or empty"}
	}
	for _, in := range inputs {
		if id, ok := e.busy[in]; ok {
			return Payment{}, &BusyError{InFlight: id}
		}
	}
	policy := req.Offline
	if policy == OfflineDefault {
		policy = e.cfg.Offline
	}
	kind := KindPurchase
	if req.Capture == CaptureManual {
		kind = KindPreAuth
	}
	now := e.now()
	p := Payment{ID: req.ID, Kind: kind, Amount: req.Amount, Currency: req.Currency, Reference: req.Reference,
		Offline: policy, Capture: req.Capture, Reader: req.Reader, Method: req.Method, QRPayload: payload,
		TerminalID: e.term.TerminalID, MerchantID: e.term.MerchantID, Created: now, RequestMD: md}
	if payload != "" {
		p.EntryMode = entryModeMerchantQR // from the first state on (a display shows the code)
	}
	e.setState(&p, StateCreated, "")
	if err := e.commitState(&p, nil); err != nil {
		return Payment{}, err
	}
	rctx, cancel := context.WithCancelCause(context.Background())
	r := &run{id: p.ID, inputs: inputs, ctx: rctx, cancel: cancel, done: make(chan struct{}), merchantQR: payload != ""}
	e.runs[p.ID] = r
	for _, in := range inputs {
		e.busy[in] = p.ID
	}
	e.runWG.Add(1)
	go e.runPayment(r, p)
	return p, nil
}

// inputsFor returns the input names a payment uses: the named one, or all.
func (e *Engine) inputsFor(name string) ([]string, error) {
	var all []string
	for _, r := range e.cfg.Readers {
		all = append(all, r.Name())
	}
	for _, s := range e.cfg.Scanners {
		all = append(all, s.Name())
	}
	if name == "" {
		if len(all) == 0 {
			return nil, &InvalidError{Field: "reader", Reason: "no reader or scanner is configured"}
		}
		return all, nil
	}
	for _, n := range all {
		if n == name {
			return []string{n}, nil
		}
	}
	return nil, &InvalidError{Field: "reader", Reason: "no input named " + name}
}

// input is what a reader or scanner produced.
type input struct {
	name string
	card CardSession
	code string
	err  error
}

// isCode reports whether the input is a scanned code (not a card).
func (in input) isCode() bool { return in.card == nil }

// errNoSession: a Reader broke its contract (no card and no error).
var errNoSession = errors.New("agent: reader returned neither a card nor an error")

// runPayment takes a created payment to a final state.
func (e *Engine) runPayment(r *run, p Payment) {
	defer e.runWG.Done()
	defer func() {
		e.freeInputs(r)
		e.mu.Lock()
		delete(e.runs, r.id)
		e.mu.Unlock()
		r.cancel(nil)
		close(r.done)
	}()
	drive := e.drive
	if r.merchantQR {
		drive = e.runMerchantQR
	}
	if err := drive(r, &p); err != nil {
		e.log.Error("agent: payment could not be recorded", "payment", p.ID, "state", p.State, "err", err)
	}
}

// freeInputs lets the next payment use the run's inputs: once its card
// (or code) is read, a payment no longer needs the reader.
func (e *Engine) freeInputs(r *run) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, in := range r.inputs {
		if e.busy[in] == r.id {
			delete(e.busy, in)
		}
	}
}

// stop ends a payment whose run was cancelled before a request left.
func (e *Engine) stopped(r *run, p *Payment) error {
	switch context.Cause(r.ctx) {
	case errShutdown:
		e.finalize(p, StateAborted, ReasonShutdown, "stopped: the engine is shutting down")
	case context.DeadlineExceeded:
		e.finalize(p, StateAborted, ReasonTimeout, "no card presented in time")
	default:
		e.finalize(p, StateAborted, ReasonAborted, "aborted by the cashier")
	}
	return e.commitState(p, nil)
}

// drive runs the inputs, the kernel and the decision.
func (e *Engine) drive(r *run, p *Payment) error {
	for attempt := 0; ; attempt++ {
		e.setState(p, StateWaitingForCard, "")
		if err := e.commitState(p, nil); err != nil {
			return err
		}
		if attempt == 0 {
			for _, sc := range e.cfg.Scanners {
				if contains(r.inputs, sc.Name()) {
					e.prompt(p.ID, PromptScanCode, formatAmount(p.Amount, p.Currency))
					break
				}
			}
			if len(r.inputs) > 0 && e.hasReader(r.inputs) {
				e.prompt(p.ID, PromptPresentCard, formatAmount(p.Amount, p.Currency))
			}
		}
		in := e.waitInput(r, p)
		if in.err != nil {
			if r.ctx.Err() != nil || errors.Is(in.err, context.DeadlineExceeded) {
				if r.ctx.Err() == nil {
					e.finalize(p, StateAborted, ReasonTimeout, "no card presented in time")
					return e.commitState(p, nil)
				}
				return e.stopped(r, p)
			}
			e.finalize(p, StateFailed, ReasonCardError, "input failed: "+offline.MaskDigits(in.err.Error()))
			return e.commitState(p, nil)
		}
		p.Reader = in.name
		e.setState(p, StateReading, "")
		if err := e.commitState(p, nil); err != nil {
			if in.card != nil {
				in.card.Close()
			}
			return err
		}
		if in.isCode() {
			e.freeInputs(r)
			return e.runQR(r, p, in)
		}
		res, again, err := e.readCard(r, p, in)
		if err != nil || (res == nil && again == "") {
			return err
		}
		if again != "" {
			if attempt+1 >= e.cfg.Retries {
				reason, msg := ReasonCardError, "no usable card after "+fmt.Sprint(e.cfg.Retries)+" attempt(s)"
				switch {
				case again == PromptTryAnotherInterface:
					reason = ReasonTryAnotherInterface
				case res == nil:
					msg = p.Message
				}
				e.finalize(p, StateDeclined, reason, msg)
				return e.commitState(p, nil)
			}
			msg := ""
			if res == nil {
				msg = p.Message
			}
			e.prompt(p.ID, again, msg)
			continue
		}
		e.freeInputs(r)
		return e.decide(r, p, res)
	}
}

// waitInput arms every input of the payment and returns the first that
// produced a card or a code.
func (e *Engine) waitInput(r *run, p *Payment) input {
	ctx, cancel := context.WithTimeout(r.ctx, e.cfg.CardTimeout)
	defer cancel()
	ch := make(chan input, len(r.inputs))
	n := 0
	for _, rd := range e.cfg.Readers {
		if !contains(r.inputs, rd.Name()) {
			continue
		}
		n++
		go func(rd Reader) {
			cs, err := rd.WaitCard(ctx, p.Amount)
			if err == nil && cs == nil {
				err = errNoSession
			}
			ch <- input{name: rd.Name(), card: cs, err: err}
		}(rd)
	}
	for _, sc := range e.cfg.Scanners {
		if !contains(r.inputs, sc.Name()) {
			continue
		}
		n++
		go func(sc Scanner) {
			code, err := sc.Scan(ctx)
			ch <- input{name: sc.Name(), code: code, err: err}
		}(sc)
	}
	var first input
	got := 0
	for got < n {
		in := <-ch
		got++
		if in.err == nil {
			first = in
			break
		}
		if first.err == nil {
			first = in
		}
	}
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
	cancel()
	// The others give up with ctx; a card that came anyway is released.
	rest := n - got
	if rest > 0 {
		go func() {
			for range rest {
				if in := <-ch; in.card != nil {
					in.card.Close()
				}
			}
		}()
	}
	if first.err != nil && timedOut && r.ctx.Err() == nil {
		first.err = context.DeadlineExceeded
	}
	return first
}

// hasReader reports whether a card reader is among the inputs.
func (e *Engine) hasReader(inputs []string) bool {
	for _, rd := range e.cfg.Readers {
		if contains(inputs, rd.Name()) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// kernelConfig is the terminal configuration for a payment: with the
// offline policy deny, every AID's floor limit is zero so the card is
// asked for an online cryptogram.
func (e *Engine) kernelConfig(p *Payment) emv.Config {
	cfg := e.term
	if p.Offline == OfflineDeny || p.Kind != KindPurchase {
		cfg.AIDs = append([]emv.AIDConfig(nil), cfg.AIDs...)
		for i := range cfg.AIDs {
			cfg.AIDs[i].FloorLimit = 0
		}
	}
	return cfg
}

// readCard runs the kernel on the presented card. It returns the result,
// or a prompt to ask for the card again (with a nil result when the card
// was lost mid-transaction), or (nil, "", err) when the payment was
// finished (aborted) here.
func (e *Engine) readCard(r *run, p *Payment, in input) (*emv.Result, string, error) {
	cur, _ := currencyOf(p.Currency)
	kcfg := e.kernelConfig(p)
	term := &emv.Terminal{Config: kcfg, Now: e.cfg.Now}
	start := time.Now()
	res, err := term.Run(r.ctx, in.card, emv.Transaction{Amount: p.Amount, Currency: cur.NumericCode()})
	if s, ok := in.card.(SignalSession); ok {
		s.Signal(r.ctx, err == nil && res != nil && (res.Outcome == emv.Approved || res.Outcome == emv.OnlineRequest))
	}
	in.card.Close()
	e.prompt(p.ID, PromptRemoveCard, "")
	if err != nil {
		if r.ctx.Err() != nil {
			return nil, "", e.stopped(r, p)
		}
		// The card left the field (or the reader failed) mid-transaction:
		// no outcome to act on. The reader's error says which (masked: it
		// comes from outside).
		p.Message = "card removed or reader lost during the transaction, no outcome: " + offline.MaskDigits(err.Error())
		return nil, PromptPresentCardAgain, nil
	}
	if e.obs != nil {
		e.obs.Tap(in.name, time.Since(start), res.Report())
	}
	e.cardFacts(p, res)
	switch res.Outcome {
	case emv.TryAgain:
		return res, PromptPresentCardAgain, nil
	case emv.TryAnotherInterface:
		return res, PromptTryAnotherInterface, nil
	}
	return res, "", nil
}

// cardFacts copies the masked card facts to the payment.
func (e *Engine) cardFacts(p *Payment, res *emv.Result) {
	p.Scheme, p.Label, p.CVM = res.Scheme, res.Label, res.CVM
	p.AID = strings.ToUpper(hex.EncodeToString(res.AID))
	// res.PAN is 5A or, without one, track 2's PAN (the kernel's one rule).
	if !res.PAN.IsZero() {
		p.MaskedPAN = res.PAN.String()
	}
	p.EntryMode = entryModeName(false)
}

// transaction builds the uplink's view of the card payment.
func (e *Engine) transaction(p *Payment, res *emv.Result) uplink.Transaction {
	tx := uplink.Transaction{ID: p.ID, PAN: res.PAN, Expiry: res.Expiry, PSN: psn(res.PANSeq),
		Amount: p.Amount, Currency: numericOf(p.Currency), EntryMode: uplink.EntryContactless, ICC: res.ICCData}
	if !res.Track2.PAN.IsZero() {
		t2 := res.Track2
		tx.Track2 = &t2
	}
	return tx
}

// psn writes the PAN sequence number (5F34, one BCD byte) as 3 digits.
func psn(v []byte) string {
	if len(v) != 1 || v[0]>>4 > 9 || v[0]&0x0F > 9 {
		return ""
	}
	return fmt.Sprintf("0%02x", v[0])
}

// decide turns the kernel's outcome into the payment's final state:
// online when the acquirer answers; offline approval where the card
// approved offline, or within the floor limit when the acquirer cannot be
// reached; else declined.
func (e *Engine) decide(r *run, p *Payment, res *emv.Result) error {
	switch res.Outcome {
	case emv.Approved:
		if p.Offline == OfflineDeny || p.Kind != KindPurchase {
			e.finalize(p, StateDeclined, ReasonOfflineLimit, "the card approved offline but this payment must go online")
			return e.commitState(p, nil)
		}
		return e.approveOffline(r, p, e.transaction(p, res), "Y1", "approved offline by the card")
	case emv.OnlineRequest:
		return e.online(r, p, e.transaction(p, res))
	case emv.Declined:
		msg := "declined by the card"
		if res.Reason != "" {
			msg += ": " + res.Reason
		}
		e.finalize(p, StateDeclined, ReasonCardDeclined, msg)
		return e.commitState(p, nil)
	}
	msg := "no payment: kernel outcome " + res.Outcome.String()
	if res.Reason != "" {
		msg += ": " + res.Reason
	}
	e.finalize(p, StateDeclined, ReasonCardError, msg)
	return e.commitState(p, nil)
}

// approveOffline queues the advice and writes approved_offline in the same
// commit. A limit that refuses it declines the payment.
func (e *Engine) approveOffline(r *run, p *Payment, tx uplink.Transaction, authCode, msg string) error {
	final := *p
	e.finalize(&final, StateApprovedOffline, "", msg)
	final.AuthCode, final.Response = authCode, authCode
	final.Receipt = buildReceipt(&final, e.term.MerchantName)
	authCode = fmt.Sprintf("%-6s", authCode) // field 38 is 6 characters
	e.fold(p.ID, fold{write: func(t *offline.Tx) error { return putPayment(t, &final) }, after: func() { e.announce(final) }})
	err := e.client.Advice(context.Background(), tx, authCode)
	e.takeFold(p.ID)
	var le *offline.LimitError
	switch {
	case err == nil:
		*p = final
		return nil
	case errors.As(err, &le):
		e.finalize(p, StateDeclined, ReasonOfflineLimit, "offline limit reached: "+string(le.Limit))
	case errors.Is(err, uplink.ErrDuplicate):
		// An advice under this id exists: a crash after the commit cannot
		// happen while the run is alive, so this is a reused id.
		e.finalize(p, StateFailed, ReasonStore, "an advice for this payment id is already queued")
	default:
		e.finalize(p, StateFailed, ReasonStore, "the advice could not be stored: "+offline.MaskDigits(err.Error()))
	}
	return e.commitState(p, nil)
}

// online sends the request (reversal armed with state online in one
// commit) and records the answer (final state with the reversal cancelled
// in one commit).
func (e *Engine) online(r *run, p *Payment, tx uplink.Transaction) error {
	if r.ctx.Err() != nil {
		return e.stopped(r, p)
	}
	e.prompt(p.ID, PromptProcessing, "")
	online := *p
	e.setState(&online, StateOnline, "request armed and sent")
	e.fold(p.ID, fold{write: func(t *offline.Tx) error { return putPayment(t, &online) }, after: func() {
		r.sent.Store(true)
		e.announce(online)
	}})
	start := time.Now()
	var res uplink.Result
	var err error
	if p.Kind == KindPreAuth {
		res, err = e.client.Authorize(r.ctx, tx)
	} else {
		res, err = e.client.Purchase(r.ctx, tx)
	}
	e.takeFold(p.ID)
	if r.sent.Load() {
		*p = online
	}
	return e.answer(r, p, tx, res, err, start)
}

// answer records the outcome of an online request of p.
func (e *Engine) answer(r *run, p *Payment, tx uplink.Transaction, res uplink.Result, err error, start time.Time) error {
	observe := func(result string) {
		if e.obs != nil {
			e.obs.Online(time.Since(start), result)
		}
	}
	var te *uplink.TxnError
	switch {
	case err == nil:
		p.STAN, p.RRN, p.AuthCode, p.Response = res.STAN, res.RRN, res.AuthCode, res.ResponseCode
		if !res.Approved() {
			observe("declined")
			e.finalize(p, StateDeclined, ReasonIssuerDeclined, "declined by the issuer: response code "+res.ResponseCode)
			return e.commitFinal(p, nil)
		}
		observe("approved")
		kept, kerr := res.Kept()
		if kerr != nil {
			return e.reverseAfterApproval(p, kerr)
		}
		state := StateApproved
		if p.Kind == KindRefund {
			state = StateRefunded
		}
		e.finalize(p, state, "", "approved online")
		err := e.commitFinal(p, func(t *offline.Tx) error {
			if p.Kind == KindRefund {
				return e.addRefunded(t, p.PaymentID, p.Amount)
			}
			return t.Enqueue(offline.Entry{ID: p.ID + sufKept, Kind: offline.KindRecord, State: offline.StateKept,
				Amount: p.Amount, Currency: tx.Currency, Payload: kept})
		})
		if err != nil {
			return e.reverseAfterApproval(p, err)
		}
		return nil
	case errors.As(err, &te) && te.Reversed:
		observe("reversed")
		e.cancelDone(p.ID)
		stored, gerr := e.getPayment(p.ID)
		if gerr != nil {
			return gerr
		}
		*p = stored
		return nil
	case errors.Is(err, uplink.ErrUnavailable):
		observe("unavailable")
		if r.ctx.Err() != nil {
			return e.stopped(r, p)
		}
		// Nothing left the terminal: the offline decision.
		if p.Kind == KindPurchase && p.Offline == OfflineAllow && e.cfg.FloorLimit > 0 && p.Amount <= e.cfg.FloorLimit && tx.QR == "" {
			return e.approveOffline(r, p, tx, "Y3", "approved offline within the floor limit: the acquirer could not be reached")
		}
		e.finalize(p, StateDeclined, ReasonAcquirerUnavailable, "the acquirer could not be reached")
		return e.commitFinal(p, nil)
	default:
		observe("failed")
		if r.ctx.Err() != nil && !r.sent.Load() {
			return e.stopped(r, p)
		}
		e.finalize(p, StateFailed, ReasonStore, "online request failed: "+offline.MaskDigits(err.Error()))
		return e.commitFinal(p, nil)
	}
}

// commitFinal writes the final state (with the deferred Cancel of the
// reversal) and forgets the Cancel once durable.
func (e *Engine) commitFinal(p *Payment, extra func(tx *offline.Tx) error) error {
	err := e.commitState(p, extra)
	if err == nil {
		e.cancelDone(p.ID)
	}
	return err
}

// reverseAfterApproval handles an approval that could not be recorded:
// the armed reversal is released (with the payment reversed) so that no
// charge stays that the cashier was not told about.
func (e *Engine) reverseAfterApproval(p *Payment, cause error) error {
	e.log.Error("agent: approval could not be recorded; reversing", "payment", p.ID, "err", cause)
	e.cancelDone(p.ID)
	q := &queue{e: e}
	if err := q.Release(p.ID); err != nil {
		return err
	}
	stored, err := e.getPayment(p.ID)
	if err == nil {
		*p = stored
	}
	return err
}

// runQR runs a consumer-presented code: classified, then online only.
func (e *Engine) runQR(r *run, p *Payment, in input) error {
	start := time.Now()
	p.EntryMode = entryModeName(true)
	if e.cfg.ClassifyQR == nil {
		e.finalize(p, StateDeclined, ReasonQRUnsupported, "scanned codes are not accepted (no classifier configured)")
		return e.commitState(p, nil)
	}
	scheme, err := e.cfg.ClassifyQR(in.code)
	if e.obs != nil {
		e.obs.Tap(in.name, time.Since(start), emv.Report{Outcome: emv.OnlineRequest, Scheme: scheme})
	}
	if err != nil {
		e.finalize(p, StateDeclined, ReasonQRUnsupported, "unknown code format: "+offline.MaskDigits(err.Error()))
		return e.commitState(p, nil)
	}
	p.Scheme = scheme
	tx := uplink.Transaction{ID: p.ID, Amount: p.Amount, Currency: numericOf(p.Currency), EntryMode: uplink.EntryQR, QR: in.code}
	return e.online(r, p, tx)
}
