package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"posagent/agent/input/qrscan"
	"posagent/agent/qrwait"
	"posagent/emv"
	"posagent/money"
	"posagent/qr"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

// demoQRPayment is one QR payment of "posagent demo --qr".
type demoQRPayment struct {
	Kind     string `json:"kind"`   // consumer_presented, merchant_presented
	Format   string `json:"format"` // qr.Format of the code
	Payment  string `json:"payment"`
	Result   string `json:"result"` // APPROVED, DECLINED
	Response string `json:"response_code"`
	AuthCode string `json:"auth_code,omitempty"`
}

// demoQR runs one QR payment of each kind against the demo's acquirer
// simulator: the customer's WeChat Pay code scanned by the till
// (consumer-presented), and the till's dynamic EMVCo code paid by the
// customer's wallet (merchant-presented: acqsim plays the wallet, the
// terminal waits with status requests).
func demoQR(ctx context.Context, say func(string, ...any), client *uplink.Client, srv *acqsim.Server,
	cfg emv.Config, amount int64, mc money.Currency) ([]demoQRPayment, error) {
	var out []demoQRPayment
	num := fmt.Sprintf("%03d", mc.NumericCode())

	// Consumer-presented: the code the customer's phone shows.
	code := "134567" + fmt.Sprintf("%012d", time.Now().UnixNano()%1e12)
	scheme, err := qrscan.Classify(code)
	if err != nil {
		return nil, err
	}
	w, _ := qr.ParseWalletCode(code)
	id := demoTxnID()
	r, err := client.Purchase(ctx, uplink.Transaction{ID: id, Amount: amount, Currency: num, EntryMode: uplink.EntryQR, QR: code})
	if err != nil {
		return nil, fmt.Errorf("QR (consumer-presented): %w", err)
	}
	out = append(out, demoQRResult("consumer_presented", scheme, id, r))
	say("QR, consumer-presented: scanned %s code %s, 0200 with the code in field 62 (entry mode %s): response code %s, auth code %s",
		scheme, w, uplink.EntryQR, r.ResponseCode, demoOr(r.AuthCode, "none"))

	// Merchant-presented: the till shows a dynamic code for this payment.
	id = demoTxnID()
	m := demoMerchant // the merchant of "qr show", with the demo terminal's ids
	m.Accounts = []qr.Field{{ID: "26", Sub: []qr.Field{{ID: "00", Value: "com.posagent.acqsim"}, {ID: "01", Value: cfg.MerchantID}}}}
	m.MCC = fmt.Sprintf("%04d", cfg.MCC)
	ref := strings.TrimPrefix(id, "demo-") // 62/05 holds at most 25 characters
	if len(ref) > 25 {
		ref = ref[len(ref)-25:]
	}
	payload, err := qr.DynamicPayload(m, qr.Charge{Amount: amount, Currency: mc.Code(), Reference: ref, Terminal: cfg.TerminalID})
	if err != nil {
		return nil, err
	}
	say("QR, merchant-presented: the display shows a dynamic EMVCo code (%d characters, reference %s); the customer's wallet pays it (acqsim's wallet, as acqsim pay-qr does)", len(payload), ref)
	go func() {
		time.Sleep(300 * time.Millisecond) // the customer takes a moment
		srv.PayQR(payload)
	}()
	r, err = qrwait.Wait(ctx, client, qrwait.Payment{ID: id, Amount: amount, Currency: num, Payload: payload},
		qrwait.Options{Every: 100 * time.Millisecond, Timeout: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("QR (merchant-presented): %w", err)
	}
	out = append(out, demoQRResult("merchant_presented", string(qr.FormatMPM), id, r))
	say("QR, merchant-presented: status requests (entry mode %s) answered pending until the wallet paid, then response code %s, auth code %s",
		uplink.EntryQRMerchant, r.ResponseCode, demoOr(r.AuthCode, "none"))
	return out, nil
}

func demoQRResult(kind, format, id string, r uplink.Result) demoQRPayment {
	p := demoQRPayment{Kind: kind, Format: format, Payment: id, Result: "DECLINED", Response: r.ResponseCode, AuthCode: r.AuthCode}
	if r.Approved() {
		p.Result = "APPROVED"
	}
	return p
}
