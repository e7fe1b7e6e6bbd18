// Package qrwait is the terminal's side of a merchant-presented QR
// payment: while the customer's wallet pays the code on the display, it
// asks the acquirer for the outcome (a request with entry mode 032 and the
// payload in field 62, docs/qr.md) until the answer is final, the timeout
// passes or the payment is aborted. The engine's merchant-presented flow
// and "posagent qr show --wait" use it.
package qrwait

import (
	"context"
	"errors"
	"fmt"
	"time"

	"posagent/uplink"
)

// Acquirer is what Wait needs of the uplink client.
type Acquirer interface {
	Purchase(ctx context.Context, t uplink.Transaction) (uplink.Result, error)
}

// ErrTimeout: the wallet did not pay within the timeout (the last answer
// was "pending"). The code must not be shown any more.
var ErrTimeout = errors.New("qrwait: not paid in time")

// Options of Wait. The zero value polls every 2 s for 2 minutes.
type Options struct {
	Every   time.Duration // between status requests; 0 = 2 s
	Timeout time.Duration // 0 = 2 min
}

// Payment is the code being waited for.
type Payment struct {
	ID       string // the payment id (field 59); the status requests share it
	Amount   int64  // minor units
	Currency string // ISO 4217 numeric ("978")
	Payload  string // the EMVCo MPM payload on the display
}

// Wait asks until the acquirer answers anything but pending: the result
// of that answer (approved or declined). A request that fails (no answer,
// uplink down) is an error at once: the uplink has already armed its
// reversal, and the caller decides. ctx ending (abort) stops the waiting.
func Wait(ctx context.Context, a Acquirer, p Payment, o Options) (uplink.Result, error) {
	if o.Every <= 0 {
		o.Every = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	deadline := time.Now().Add(o.Timeout)
	tx := uplink.Transaction{ID: p.ID, Amount: p.Amount, Currency: p.Currency, EntryMode: uplink.EntryQRMerchant, QR: p.Payload}
	for {
		res, err := a.Purchase(ctx, tx)
		if err != nil {
			return res, fmt.Errorf("qrwait: status of %s: %w", p.ID, err)
		}
		if res.ResponseCode != uplink.RCPending {
			return res, nil
		}
		if !time.Now().Add(o.Every).Before(deadline) {
			return res, ErrTimeout
		}
		t := time.NewTimer(o.Every)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, ctx.Err()
		case <-t.C:
		}
	}
}
