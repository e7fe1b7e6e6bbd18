package uplink

import (
	"context"
	"encoding/json"
	"fmt"

	"posagent/emv/pan"
	"posagent/offline"
)

// Kept returns what a later operation on this approved transaction needs
// (a void's reversal, a pre-authorisation's completion, a referenced
// refund): the original request's data, PAN included, without track 2.
// It is card data: store it only encrypted (an offline.KindRecord entry).
func (r Result) Kept() ([]byte, error) {
	if r.TransactionID == "" || r.original.V != recordVersion {
		return nil, fmt.Errorf("%w: result carries no original transaction", ErrInvalid)
	}
	rec := r.original
	rec.AuthCode, rec.RRN = r.AuthCode, r.RRN
	return rec.marshal()
}

// KeptAdvice returns the Kept form of an advice the Queue holds (an
// offline approval): its payload with the MTI of the original request.
func KeptAdvice(e offline.Entry) ([]byte, error) {
	rec, err := parseRecord(e.ID, e.Payload)
	if err != nil {
		return nil, err
	}
	if rec.MTI != MTIAdvice {
		return nil, &PayloadError{ID: e.ID, Err: fmt.Errorf("MTI %s is not an advice", rec.MTI)}
	}
	rec.OrigMTI = MTIAdvice
	return rec.marshal()
}

// parseKept reads what Kept returned.
func parseKept(b []byte) (record, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return r, &PayloadError{ID: "kept", Err: fmt.Errorf("not JSON of a uplink record")}
	}
	if r.V != recordVersion || r.TransactionID == "" || r.Amount <= 0 {
		return r, &PayloadError{ID: r.TransactionID, Err: fmt.Errorf("not a kept transaction")}
	}
	switch r.OrigMTI {
	case MTIAuthRequest, MTIFinancialRequest, MTIAdvice:
	default:
		return r, &PayloadError{ID: r.TransactionID, Err: fmt.Errorf("original MTI %q cannot be referred to", r.OrigMTI)}
	}
	if r.PAN != "" {
		if _, err := pan.Parse(r.PAN); err != nil {
			return r, &PayloadError{ID: r.TransactionID, Err: fmt.Errorf("bad PAN")}
		}
	}
	return r, nil
}

// VoidEntry builds the queue entry (a pending reversal advice, 0420) that
// voids the kept transaction. entryID names the entry in the Queue; the
// message carries the original transaction id. The caller enqueues it,
// in the same commit as the payment's voided state, and the forwarder
// sends it exactly once.
func VoidEntry(entryID string, kept []byte, reason string) (offline.Entry, error) {
	rec, err := parseKept(kept)
	if err != nil {
		return offline.Entry{}, err
	}
	if len(reason) != 2 || !alnum(reason) {
		return offline.Entry{}, fmt.Errorf("%w: reason code must be 2 characters", ErrInvalid)
	}
	rec.MTI, rec.Reason = MTIReversalAdvice, reason
	payload, err := rec.marshal()
	if err != nil {
		return offline.Entry{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return offline.Entry{ID: entryID, Kind: offline.KindReversal, State: offline.StatePending,
		Amount: rec.Amount, Currency: rec.Currency, Payload: payload}, nil
}

// CompletionEntry builds the queue entry (a pending advice, 0220 with
// response code 00 and the original's authorisation code) that completes a
// kept pre-authorisation (0100) for amount, at most the authorised one.
func CompletionEntry(entryID string, kept []byte, amount int64) (offline.Entry, error) {
	rec, err := parseKept(kept)
	if err != nil {
		return offline.Entry{}, err
	}
	if rec.OrigMTI != MTIAuthRequest {
		return offline.Entry{}, fmt.Errorf("%w: only an authorisation (0100) is completed", ErrInvalid)
	}
	if amount <= 0 || amount > rec.Amount {
		return offline.Entry{}, fmt.Errorf("%w: completion amount must be 1..%d", ErrInvalid, rec.Amount)
	}
	rec.MTI, rec.Reason, rec.Amount = MTIAdvice, RCApproved, amount
	payload, err := rec.marshal()
	if err != nil {
		return offline.Entry{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return offline.Entry{ID: entryID, Kind: offline.KindCompletion, State: offline.StatePending,
		Amount: amount, Currency: rec.Currency, Payload: payload}, nil
}

// Refund sends a referenced refund (0200, processing code 200000) of
// amount to the card of the kept transaction, as a new transaction id,
// with its reversal armed first as for Purchase.
func (c *Client) Refund(ctx context.Context, id string, kept []byte, amount int64) (Result, error) {
	rec, err := parseKept(kept)
	if err != nil {
		return Result{}, &TxnError{ID: id, MTI: MTIFinancialRequest, Err: err}
	}
	t := Transaction{ID: id, Expiry: rec.Expiry, PSN: rec.PSN, Amount: amount, Currency: rec.Currency,
		EntryMode: rec.EntryMode, QR: rec.QR, ProcessingCode: ProcRefund}
	if rec.PAN != "" {
		t.PAN, _ = pan.Parse(rec.PAN) // checked by parseKept
	}
	return c.online(ctx, MTIFinancialRequest, t)
}
