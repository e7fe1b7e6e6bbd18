package uplink

import (
	"fmt"
	"time"

	"posagent/emv/pan"
)

// Entry modes for field 22 (POS entry mode: 2 digits PAN entry, 1 digit PIN
// capability). docs/iso8583.md lists them.
const (
	EntryContactless       = "071" // contactless chip (EMV), no PIN pad
	EntryContactlessStripe = "911" // contactless mag-stripe mode
	EntryChip              = "051" // contact chip
	EntryQR                = "031" // bar code / QR code read by the terminal
	EntryManual            = "011" // key entered
)

// Transaction is one payment as the uplink carries it, decoupled from the
// EMV kernel. PAN and Track2 print masked; ICC data is never printed.
type Transaction struct {
	ID        string      // cashier transaction id: the idempotency key (field 59)
	PAN       pan.PAN     // field 2; zero for QR payments
	Expiry    string      // YYMM, field 14; optional
	PSN       string      // PAN sequence number, 3 digits ("001"), field 23; optional
	Track2    *pan.Track2 // track 2 equivalent data, field 35; optional, never persisted
	Amount    int64       // minor units, field 4
	Currency  string      // ISO 4217 numeric ("978"), field 49
	EntryMode string      // field 22, e.g. EntryContactless
	ICC       []byte      // field 55: EMV TLV data (ARQC, 9F10, 9F36, ...)
	QR        string      // field 62: QR payment data (wallet payment code or EMVCo CPM payload)
	// ProcessingCode is field 3: ProcPurchase ("" means it) or ProcRefund.
	ProcessingCode string
	Time           time.Time // transmission time (field 7, 12, 13); zero = now
}

// CardPAN is the card's PAN: from 5A (PAN) or, when the card gave none,
// from its track 2 equivalent data. It keys the message's field 2 and the
// per-card offline velocity.
func (t Transaction) CardPAN() pan.PAN {
	if t.PAN.IsZero() && t.Track2 != nil {
		return t.Track2.PAN
	}
	return t.PAN
}

// String describes the transaction with the PAN masked and no track 2,
// ICC data or QR payload.
func (t Transaction) String() string {
	s := fmt.Sprintf("txn %s %d %s entry %s", t.ID, t.Amount, t.Currency, t.EntryMode)
	if !t.PAN.IsZero() {
		s += " pan " + t.PAN.String()
	}
	if t.QR != "" {
		s += fmt.Sprintf(" qr(%d chars)", len(t.QR))
	}
	return s
}

// GoString masks as String does.
func (t Transaction) GoString() string { return t.String() }

// LogValue makes slog print the masked form.
func (t Transaction) LogValue() slogValue { return slogString(t.String()) }

// Format masks for every verb.
func (t Transaction) Format(f fmt.State, verb rune) { fmt.Fprint(f, t.String()) }

// MarshalText masks as String does (and so does JSON).
func (t Transaction) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// Result is the acquirer's answer to an authorisation or financial request.
type Result struct {
	TransactionID string
	MTI           string // response MTI, e.g. "0210"
	ResponseCode  string // field 39
	AuthCode      string // field 38
	RRN           string // field 37
	STAN          string // field 11 of the request (and response)
	ICC           []byte // field 55 of the response: issuer authentication data (91), scripts (71/72)

	// original holds what a later reversal of this transaction needs.
	original record
}

// Approved reports whether the response code is an approval.
func (r Result) Approved() bool { return IsApproval(r.ResponseCode) }

// String shows the result without the ICC data.
func (r Result) String() string {
	return fmt.Sprintf("%s txn %s stan %s rc %s auth %s rrn %s", r.MTI, r.TransactionID, r.STAN, r.ResponseCode, r.AuthCode, r.RRN)
}

// GoString masks as String does (%#v would otherwise print the card data
// kept for a later reversal).
func (r Result) GoString() string { return r.String() }

// LogValue makes slog print the masked form.
func (r Result) LogValue() slogValue { return slogString(r.String()) }

// Format prints String for every verb (never the kept card data).
func (r Result) Format(f fmt.State, verb rune) { fmt.Fprint(f, r.String()) }

// MarshalText writes String (and so does JSON).
func (r Result) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// IsApproval reports whether an ISO 8583:1987 response code approves the
// full amount: 00, 08 (honour with identification), 11 (VIP). Partial
// approval (10) is not supported and counts as a decline.
func IsApproval(rc string) bool {
	switch rc {
	case "00", "08", "11":
		return true
	}
	return false
}

// Response codes the uplink and acqsim give a meaning to.
const (
	RCApproved         = "00"
	RCDoNotHonour      = "05"
	RCInvalidTxn       = "12"
	RCFormatError      = "30"
	RCInsufficient     = "51"
	RCNotPermitted     = "57"
	RCIssuerDown       = "91"
	RCDuplicate        = "94" // duplicate transmission (acknowledged, not counted twice)
	RCSystemError      = "96"
	RCCryptogramFailed = "82" // ARQC verification failed (negative online CAM)
)

// Reversal reason codes (field 39 of an 0400/0420 request).
const (
	ReasonNoResponse     = "68" // response received too late / no response
	ReasonCustomerCancel = "17" // customer (cashier) cancellation
	ReasonMalfunction    = "22" // suspected malfunction: failure after approval, broken response
)
