package agent

import "strings"

// receiptWidth is the print width of receipt lines (a 58 mm printer).
const receiptWidth = 32

// receiptTitles are the headline of each final state.
var receiptTitles = map[State]string{
	StateApproved: "APPROVED", StateApprovedOffline: "APPROVED (OFFLINE)", StateDeclined: "DECLINED",
	StateAborted: "CANCELLED", StateFailed: "FAILED", StateReversed: "REVERSED - NOT CHARGED",
	StateRefunded: "REFUND APPROVED", StateVoided: "VOIDED", StateCaptured: "CAPTURED",
}

// buildReceipt makes the receipt of a final payment, with merchantName on
// top. It holds only masked card data.
func buildReceipt(p *Payment, merchantName string) *Receipt {
	title := receiptTitles[p.State]
	kind := map[Kind]string{KindPurchase: "PURCHASE", KindPreAuth: "PRE-AUTHORISATION", KindRefund: "REFUND"}[p.Kind]
	f := map[string]string{
		"merchant_name": merchantName,
		"terminal_id":   p.TerminalID,
		"merchant_id":   p.MerchantID,
		"transaction":   kind,
		"result":        title,
		"payment_id":    p.ID,
		"amount":        formatAmount(p.Amount, p.Currency),
		"currency":      p.Currency,
		"date_time":     p.Updated.UTC().Format("2006-01-02 15:04:05 UTC"),
	}
	set := func(k, v string) {
		if v != "" {
			f[k] = v
		}
	}
	set("reference", p.Reference)
	set("masked_pan", p.MaskedPAN)
	set("scheme", p.Scheme)
	set("application_label", p.Label)
	set("aid", p.AID)
	set("entry_mode", p.EntryMode)
	set("cvm", p.CVM)
	set("auth_code", p.AuthCode)
	set("response_code", p.Response)
	set("stan", p.STAN)
	set("rrn", p.RRN)
	set("reason", p.Reason)
	set("original_payment", p.PaymentID)
	if p.Captured > 0 {
		set("captured_amount", formatAmount(p.Captured, p.Currency))
	}
	if p.Refunded > 0 {
		set("refunded_amount", formatAmount(p.Refunded, p.Currency))
	}

	lines := func(copyName string) []string {
		var out []string
		center := func(s string) {
			if pad := (receiptWidth - len(s)) / 2; pad > 0 {
				s = strings.Repeat(" ", pad) + s
			}
			out = append(out, s)
		}
		row := func(k, v string) {
			if v == "" {
				return
			}
			if gap := receiptWidth - len(k) - len(v); gap > 0 {
				out = append(out, k+strings.Repeat(" ", gap)+v)
			} else {
				out = append(out, k, "  "+v)
			}
		}
		center(merchantName)
		row("TID", p.TerminalID)
		row("MID", p.MerchantID)
		row("DATE", f["date_time"])
		out = append(out, strings.Repeat("-", receiptWidth))
		center(kind)
		row("CARD", p.MaskedPAN)
		row("SCHEME", strings.ToUpper(p.Scheme))
		row("APP", p.Label)
		row("AID", p.AID)
		row("ENTRY", p.EntryMode)
		row("REF", p.Reference)
		row("ORIGINAL", p.PaymentID)
		row("AMOUNT", f["amount"])
		if p.Captured > 0 {
			row("CAPTURED", f["captured_amount"])
		}
		if p.Refunded > 0 {
			row("REFUNDED", f["refunded_amount"])
		}
		row("AUTH CODE", strings.TrimSpace(p.AuthCode))
		row("RESPONSE", p.Response)
		row("STAN", p.STAN)
		row("RRN", p.RRN)
		out = append(out, strings.Repeat("-", receiptWidth))
		center(title)
		if p.Reason != "" && p.State != StateApproved && p.State != StateApprovedOffline {
			center(strings.ReplaceAll(p.Reason, "_", " "))
		}
		if p.CVM == "signature" && copyName == "MERCHANT COPY" && (p.State == StateApproved || p.State == StateApprovedOffline) {
			out = append(out, "", "SIGNATURE ____________________")
		}
		center(copyName)
		return out
	}
	return &Receipt{Merchant: lines("MERCHANT COPY"), Customer: lines("CUSTOMER COPY"), Fields: f}
}

// entryModeName maps the kernel's interface to Payment.EntryMode.
func entryModeName(qr bool) string {
	if qr {
		return "qr_consumer"
	}
	return "contactless"
}
