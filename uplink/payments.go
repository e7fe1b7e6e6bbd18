package uplink

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"posagent/offline"
)

// Processing codes (field 3).
const (
	ProcPurchase = "000000"
	ProcRefund   = "200000" // refund (credit to the card)
)

func (c *Client) validate(t *Transaction) error {
	bad := func(detail string) error { return fmt.Errorf("%w: %s", ErrInvalid, detail) }
	switch {
	case t.ID == "" || len(t.ID) > 64 || !printable(t.ID):
		return bad("transaction id must be 1-64 printable characters")
	case t.Amount <= 0 || t.Amount > 999999999999:
		return bad("amount must be 1..999999999999 minor units")
	case len(t.Currency) != 3 || !digits(t.Currency):
		return bad("currency must be ISO 4217 numeric (3 digits)")
	case t.PAN.IsZero() && t.QR == "" && t.Track2 == nil:
		return bad("no card data: PAN, track 2 or QR payload required")
	case t.EntryMode != "" && (len(t.EntryMode) != 3 || !digits(t.EntryMode)):
		return bad("entry mode must be 3 digits")
	case t.Expiry != "" && (len(t.Expiry) != 4 || !digits(t.Expiry)):
		return bad("expiry must be YYMM")
	case t.PSN != "" && (len(t.PSN) != 3 || !digits(t.PSN)):
		return bad("PAN sequence number must be 3 digits")
	case t.ProcessingCode != "" && t.ProcessingCode != ProcPurchase && t.ProcessingCode != ProcRefund:
		return bad("processing code must be 000000 (purchase) or 200000 (refund)")
	}
	return nil
}

// buildRequest makes the wire message and the reversal record of t.
func (c *Client) buildRequest(mti string, t *Transaction, stan string) (*Message, record) {
	when := t.Time
	if when.IsZero() {
		when = c.cfg.Now()
	}
	tx, lt, ld := transmissionFields(when)
	p := t.CardPAN()
	proc := t.ProcessingCode
	if proc == "" {
		proc = ProcPurchase
	}
	m := &Message{
		MTI: mti, PAN: p, ProcessingCode: proc, Amount: t.Amount, HasAmount: true,
		Transmission: tx, STAN: stan, LocalTime: lt, LocalDate: ld, Expiry: t.Expiry,
		MCC: c.cfg.MCC, EntryMode: t.EntryMode, PSN: t.PSN, Condition: "00",
		AcquirerID: c.cfg.AcquirerID, Track2: t.Track2, TerminalID: c.cfg.TerminalID,
		MerchantID: c.cfg.MerchantID, Currency: t.Currency, ICC: t.ICC,
		TransactionID: t.ID, QR: t.QR,
	}
	if m.Expiry == "" && t.Track2 != nil {
		m.Expiry = t.Track2.Expiry
	}
	r := record{
		V: recordVersion, MTI: MTIReversal, OrigMTI: mti, TransactionID: t.ID,
		Expiry: m.Expiry, PSN: t.PSN, Amount: t.Amount, Currency: t.Currency,
		EntryMode: t.EntryMode, ProcCode: proc, ICC: t.ICC, QR: t.QR, STAN: stan,
		Transmission: tx, LocalTime: lt, LocalDate: ld, Reason: ReasonNoResponse,
		TerminalID: c.cfg.TerminalID, MerchantID: c.cfg.MerchantID, AcquirerID: c.cfg.AcquirerID,
		MCC: c.cfg.MCC,
	}
	if !p.IsZero() {
		r.PAN = p.Digits()
	}
	return m, r
}

// Authorize sends an authorisation request (0100) and returns the 0110.
func (c *Client) Authorize(ctx context.Context, t Transaction) (Result, error) {
	return c.online(ctx, MTIAuthRequest, t)
}

// Purchase sends a financial request (0200) and returns the 0210.
//
// Before the request leaves, its reversal is written to the Queue as a held
// entry with the transaction id. A response (approval or decline) cancels
// it. On no response, a lost connection, a broken response or ctx being
// cancelled (cashier abort) the reversal is released, the error is a
// *TxnError with Reversed set, and the offline forwarder sends the 0400.
// ErrUnavailable means nothing was sent and nothing is armed.
func (c *Client) Purchase(ctx context.Context, t Transaction) (Result, error) {
	return c.online(ctx, MTIFinancialRequest, t)
}

func (c *Client) online(ctx context.Context, mti string, t Transaction) (Result, error) {
	if err := c.validate(&t); err != nil {
		return Result{}, &TxnError{ID: t.ID, MTI: mti, Err: err}
	}
	stan, err := c.cfg.STAN.Next()
	if err != nil {
		return Result{}, &TxnError{ID: t.ID, MTI: mti, Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
	}
	m, rev := c.buildRequest(mti, &t, stan)
	fail := func(reversed bool, err error) (Result, error) {
		return Result{}, &TxnError{ID: t.ID, MTI: mti, STAN: stan, Reversed: reversed, Err: err}
	}
	// Encode now: a transaction that cannot be packed is refused before
	// anything is armed.
	packed, err := c.codec.Encode(m)
	if err != nil {
		return fail(false, err)
	}
	cn, err := c.waitConn(ctx, 0)
	if err != nil {
		return fail(false, err)
	}
	payload, err := rev.marshal()
	if err != nil {
		return fail(false, fmt.Errorf("%w: %w", ErrInvalid, err))
	}
	entry := offline.Entry{
		ID: t.ID, Kind: offline.KindReversal, State: offline.StateHeld, Created: c.cfg.Now(),
		Amount: t.Amount, Currency: t.Currency, Payload: payload,
	}
	if err := c.cfg.Queue.Enqueue(ctx, entry); err != nil {
		if errors.Is(err, offline.ErrDuplicate) {
			return fail(false, fmt.Errorf("%w: %s", ErrDuplicate, t.ID))
		}
		return fail(false, fmt.Errorf("%w: arming reversal: %w", ErrStore, err))
	}
	resp, sent, err := c.exchangePacked(ctx, cn, m, packed)
	if err != nil {
		if !sent {
			// Nothing left the terminal: disarm.
			if cerr := c.cfg.Queue.Cancel(t.ID); cerr != nil {
				return fail(c.release(t.ID, "disarm failed"), fmt.Errorf("%w: disarming: %w", ErrStore, cerr))
			}
			return fail(false, fmt.Errorf("%w: %w", ErrUnavailable, err))
		}
		return fail(c.release(t.ID, err.Error()), err)
	}
	if err := checkResponse(m, resp); err != nil {
		c.log.Warn("uplink: bad response", "err", err)
		return fail(c.release(t.ID, err.Error()), err)
	}
	if err := c.cfg.Queue.Cancel(t.ID); err != nil {
		// The reversal stays armed: money must not stay moved unaccounted.
		return fail(c.release(t.ID, "cancel failed"), fmt.Errorf("%w: clearing reversal: %w", ErrStore, err))
	}
	rev.AuthCode, rev.RRN = resp.AuthCode, resp.RRN
	return Result{
		TransactionID: t.ID, MTI: resp.MTI, ResponseCode: resp.ResponseCode,
		AuthCode: resp.AuthCode, RRN: resp.RRN, STAN: stan, ICC: resp.ICC, original: rev,
	}, nil
}

// release lets the armed reversal of id go out. It reports whether it did.
func (c *Client) release(id, why string) bool {
	if err := c.cfg.Queue.Release(id); err != nil {
		c.log.Error("uplink: RELEASING REVERSAL FAILED: the transaction may stay charged", "txn", id, "why", why, "err", err)
		return false
	}
	c.log.Warn("uplink: reversal released", "txn", id, "why", why)
	return true
}

// checkResponse validates a matched response against its request.
func checkResponse(req, resp *Message) error {
	bad := func(field int, detail string) error {
		return &ResponseError{MTI: resp.MTI, STAN: resp.STAN, Field: field, Detail: detail}
	}
	if len(resp.ResponseCode) != 2 {
		return bad(FieldResponseCode, "missing response code")
	}
	if resp.HasAmount && resp.Amount != req.Amount && IsApproval(resp.ResponseCode) {
		return bad(FieldAmount, fmt.Sprintf("approved amount %d differs from requested %d", resp.Amount, req.Amount))
	}
	if resp.Currency != "" && req.Currency != "" && resp.Currency != req.Currency {
		return bad(FieldCurrency, "currency differs from the request")
	}
	if resp.TransactionID != "" && resp.TransactionID != req.TransactionID {
		return bad(FieldTransactionID, "transaction id differs from the request")
	}
	if IsApproval(resp.ResponseCode) && (req.MTI == MTIAuthRequest || req.MTI == MTIFinancialRequest) && resp.AuthCode == "" {
		return bad(FieldAuthCode, "approval without an authorisation code")
	}
	return nil
}

// Reverse queues a reversal advice (0420) for a transaction the acquirer
// approved but that failed afterwards (card declined the second GENERATE AC,
// the cashier aborted, the final state could not be stored). reason is a
// reversal reason code (ReasonCustomerCancel, ReasonMalfunction). Reverse
// is idempotent per transaction id.
func (c *Client) Reverse(ctx context.Context, r Result, reason string) error {
	if r.TransactionID == "" || r.original.V != recordVersion {
		return fmt.Errorf("%w: result carries no original transaction", ErrInvalid)
	}
	if len(reason) != 2 || !alnum(reason) {
		return fmt.Errorf("%w: reason code must be 2 characters", ErrInvalid)
	}
	rec := r.original
	rec.MTI = MTIReversalAdvice
	rec.Reason = reason
	rec.AuthCode, rec.RRN = r.AuthCode, r.RRN
	payload, err := rec.marshal()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	err = c.cfg.Queue.Enqueue(ctx, offline.Entry{
		ID: r.TransactionID, Kind: offline.KindReversal, State: offline.StatePending,
		Created: c.cfg.Now(), Amount: rec.Amount, Currency: rec.Currency, Payload: payload,
	})
	if errors.Is(err, offline.ErrDuplicate) {
		if e, gerr := c.cfg.Queue.Get(r.TransactionID); gerr == nil && e.Kind == offline.KindReversal {
			if e.State == offline.StateHeld {
				c.release(r.TransactionID, "reverse after approval")
			}
			return nil // already queued or sent
		}
		return fmt.Errorf("%w: %s", ErrDuplicate, r.TransactionID)
	}
	if err != nil {
		return fmt.Errorf("%w: queueing reversal: %w", ErrStore, err)
	}
	c.log.Warn("uplink: reversal after approval queued", "txn", r.TransactionID, "reason", reason)
	return nil
}

// cardKeyer is the optional capability of a Queue that keys per-card
// velocity limits by an HMAC of the PAN.
type cardKeyer interface{ CardKey(pan string) []byte }

// Advice queues an advice (0220) for a transaction approved offline by the
// card and terminal. authCode is the offline authorisation code (e.g.
// "Y1    "); t.ICC should carry the TC. The offline forwarder sends it.
func (c *Client) Advice(ctx context.Context, t Transaction, authCode string) error {
	if err := c.validate(&t); err != nil {
		return err
	}
	stan, err := c.cfg.STAN.Next()
	if err != nil {
		return err
	}
	_, rec := c.buildRequest(MTIFinancialRequest, &t, stan)
	rec.MTI, rec.Reason, rec.AuthCode = MTIAdvice, "", authCode
	// Field 39 of the advice is the EMV authorisation response code the
	// offline approval carries: Y1 (approved offline) or Y3 (unable to go
	// online, approved offline).
	if rc := strings.TrimSpace(authCode); rc == "Y1" || rc == "Y3" {
		rec.Reason = rc
	}
	payload, err := rec.marshal()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	e := offline.Entry{
		ID: t.ID, Kind: offline.KindAdvice, State: offline.StatePending, Created: c.cfg.Now(),
		Amount: t.Amount, Currency: t.Currency, Payload: payload,
	}
	// A store that keys per-card velocity (offline.Store does) gets the
	// card's HMAC key, so the per-card limits count this approval.
	if ck, ok := c.cfg.Queue.(cardKeyer); ok {
		e.CardKey = ck.CardKey(t.CardPAN().Digits())
	}
	err = c.cfg.Queue.Enqueue(ctx, e)
	if errors.Is(err, offline.ErrDuplicate) {
		return fmt.Errorf("%w: %s", ErrDuplicate, t.ID)
	}
	if err != nil {
		return fmt.Errorf("%w: queueing advice: %w", ErrStore, err)
	}
	return nil
}

// Forward sends a queued reversal (0400/0420, repeats 0401/0421) or advice
// (0220, repeat 0221) and interprets the answer for the offline forwarder
// (it implements offline.Sender): nil when acknowledged (also when the
// acquirer reports a duplicate), offline.ErrRejected for a permanent
// rejection, offline.ErrDeclined when the issuer declines an advice, any
// other error to retry later.
func (c *Client) Forward(ctx context.Context, e offline.Entry) error {
	rec, err := parseRecord(e.ID, e.Payload)
	if err != nil {
		return fmt.Errorf("%w: %w", offline.ErrRejected, err)
	}
	if (e.Kind == offline.KindAdvice || e.Kind == offline.KindCompletion) != (rec.MTI == MTIAdvice) {
		return fmt.Errorf("%w: entry %s is a %s but holds an %s", offline.ErrRejected, e.ID, e.Kind, rec.MTI)
	}
	mti := rec.MTI
	if e.Repeat {
		mti = repeatMTI(mti)
	}
	m := rec.message(mti)
	packed, err := c.codec.Encode(m)
	if err != nil {
		return fmt.Errorf("%w: %w", offline.ErrRejected, err)
	}
	cn, err := c.waitConn(ctx, 0)
	if err != nil {
		return err
	}
	resp, _, err := c.exchangePacked(ctx, cn, m, packed)
	if err != nil {
		return err
	}
	if len(resp.ResponseCode) != 2 {
		return &ResponseError{MTI: resp.MTI, STAN: resp.STAN, Field: FieldResponseCode, Detail: "missing response code"}
	}
	rc := resp.ResponseCode
	switch {
	case rc == RCApproved || rc == RCDuplicate:
		c.log.Info("uplink: forwarded", "mti", mti, "txn", e.ID, "stan", rec.STAN, "rc", rc)
		return nil
	case rc == RCFormatError || rc == RCInvalidTxn:
		return fmt.Errorf("%w: %s answered %s", offline.ErrRejected, resp.MTI, rc)
	case retryable(rc):
		return fmt.Errorf("uplink: %s for txn %s answered %s, will retry", mti, e.ID, rc)
	case rec.MTI == MTIAdvice:
		return fmt.Errorf("%w: issuer answered %s", offline.ErrDeclined, rc)
	}
	// A reversal answered with anything else (e.g. 25, original not found)
	// is acknowledged: there is nothing left to reverse at the host.
	c.log.Warn("uplink: reversal acknowledged with a non-approval code", "mti", mti, "txn", e.ID, "stan", rec.STAN, "rc", rc)
	return nil
}

// retryable response codes: the acquirer or issuer could not decide now.
func retryable(rc string) bool {
	switch rc {
	case RCIssuerDown, RCSystemError, "68", "19":
		return true
	}
	return false
}
