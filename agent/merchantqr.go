package agent

import (
	"context"
	"errors"
	"time"

	"posagent/agent/qrwait"
	"posagent/offline"
	"posagent/qr"
	"posagent/uplink"
)

// The merchant-presented flow (MethodQRMerchant, docs/qr.md): the payment
// carries its own dynamic EMVCo code (built at Start, stored with it),
// shows it (state waiting_for_card, prompt see_phone) and asks the
// acquirer for the wallet's payment with status requests (entry mode 032,
// agent/qrwait). Every status request may be the one the acquirer answers
// with the approval, so each is armed like a card's online request: the
// first one's arming commit writes state online with the held reversal;
// each answer's Cancel is carried by the next request's arming commit (or
// by the final commit). Endings:
//
//   - paid: approved (kept record, as a card) or declined (the wallet paid
//     another amount: issuer_declined with the acquirer's code);
//   - not paid within Config.QRTimeout: aborted (timeout);
//   - abort (or shutdown) between two status requests: aborted; the last
//     answer was "pending", nothing is charged to the terminal;
//   - abort while a status request is in flight: that request may be the
//     approval, so its reversal is released and the payment is reversed
//     (Reversed: true), exactly as a card's request in flight;
//   - the acquirer cannot be reached (nothing left): declined
//     (acquirer_unavailable) when it is so for the first status request or
//     still at the timeout; in between the terminal keeps asking (the
//     customer may be paying). A QR payment is never approved offline;
//   - no usable answer to a request that left: reversed (no_response).

// maxQRReference is the longest reference label (62/05) a code can carry.
const maxQRReference = 25

// merchantPayload checks a merchant-presented request and builds its code.
func (e *Engine) merchantPayload(req PaymentRequest) (string, error) {
	switch {
	case e.cfg.QRMerchant == nil:
		return "", &InvalidError{Field: "method", Reason: "merchant-presented QR is not configured"}
	case req.Reader != "":
		return "", &InvalidError{Field: "reader", Reason: "a merchant-presented QR payment uses no input"}
	case req.Capture != CaptureAuto:
		return "", &InvalidError{Field: "capture", Reason: "a merchant-presented QR payment is captured at once"}
	case len(req.ID) > maxQRReference:
		return "", &InvalidError{Field: "id", Reason: "at most 25 characters for a merchant-presented QR payment (its reference 62/05)"}
	}
	s, err := qr.DynamicPayload(*e.cfg.QRMerchant, qr.Charge{Amount: req.Amount, Currency: req.Currency,
		Reference: req.ID, Terminal: e.term.TerminalID})
	if err != nil {
		return "", &InvalidError{Field: "method", Reason: "no merchant-presented code for this payment: " + err.Error()}
	}
	return s, nil
}

// statusAsker is qrwait's Acquirer: the engine's uplink client, with the
// first request's arming commit carrying state online.
type statusAsker struct {
	e      *Engine
	r      *run
	online *Payment
	start  time.Time // of the latest request
}

func (a *statusAsker) Purchase(ctx context.Context, tx uplink.Transaction) (uplink.Result, error) {
	e, r := a.e, a.r
	if !r.sent.Load() {
		online := a.online
		e.fold(r.id, fold{write: func(t *offline.Tx) error { return putPayment(t, online) }, after: func() {
			r.sent.Store(true)
			e.announce(*online)
		}})
	}
	a.start = time.Now()
	res, err := e.client.Purchase(ctx, tx)
	e.takeFold(r.id)
	return res, err
}

// runMerchantQR shows the payment's code and waits for the wallet.
func (e *Engine) runMerchantQR(r *run, p *Payment) error {
	p.Scheme = string(qr.FormatMPM)
	e.setState(p, StateWaitingForCard, "code shown: waiting for the customer's wallet")
	if err := e.commitState(p, nil); err != nil {
		return err
	}
	e.prompt(p.ID, PromptSeePhone, formatAmount(p.Amount, p.Currency))
	online := *p
	e.setState(&online, StateOnline, "status requests armed: waiting for the wallet's payment")
	ask := &statusAsker{e: e, r: r, online: &online}
	tx := uplink.Transaction{ID: p.ID, Amount: p.Amount, Currency: numericOf(p.Currency),
		EntryMode: uplink.EntryQRMerchant, QR: p.QRPayload}
	res, err := e.askWallet(r, ask, tx)
	if r.sent.Load() {
		*p = online
	}
	var te *uplink.TxnError
	switch {
	case errors.Is(err, qrwait.ErrTimeout):
		// The last answer was "pending": its Cancel goes with this commit.
		e.finalize(p, StateAborted, ReasonTimeout, "the code was not paid in time")
		return e.commitFinal(p, nil)
	case err != nil && !errors.As(err, &te) && r.ctx.Err() != nil:
		// Stopped between two status requests.
		defer e.cancelDone(p.ID)
		return e.stopped(r, p)
	}
	return e.answer(r, p, tx, res, err, ask.start)
}

// askWallet runs the status requests until an answer, the timeout or the
// run's end. Once one request was armed, an unreachable acquirer (nothing
// left the terminal) is asked again until the timeout: the customer may be
// paying meanwhile.
func (e *Engine) askWallet(r *run, ask *statusAsker, tx uplink.Transaction) (uplink.Result, error) {
	deadline := time.Now().Add(e.cfg.QRTimeout)
	pay := qrwait.Payment{ID: tx.ID, Amount: tx.Amount, Currency: tx.Currency, Payload: tx.QR}
	for {
		res, err := qrwait.Wait(r.ctx, ask, pay, qrwait.Options{Every: e.cfg.QRPoll, Timeout: time.Until(deadline)})
		if !errors.Is(err, uplink.ErrUnavailable) || !r.sent.Load() || time.Until(deadline) <= e.cfg.QRPoll {
			return res, err
		}
		t := time.NewTimer(e.cfg.QRPoll)
		select {
		case <-r.ctx.Done():
			t.Stop()
			return res, r.ctx.Err()
		case <-t.C:
		}
	}
}
