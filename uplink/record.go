package uplink

import (
	"encoding/json"
	"fmt"
	"time"

	"posagent/emv/pan"
)

// record is the persisted form of a message the offline forwarder sends
// later (a reversal or an advice): the Payload of an offline.Entry, JSON,
// encrypted at rest by the offline store. It never holds track 2.
type record struct {
	V             int    `json:"v"`
	MTI           string `json:"mti"`           // base MTI to send: 0400, 0420 or 0220 (+1 when repeated)
	OrigMTI       string `json:"orig_mti"`      // the request this one refers to (0100/0200) for field 90
	TransactionID string `json:"id"`            // field 59
	PAN           string `json:"pan,omitempty"` // digits; the payload is encrypted at rest
	Expiry        string `json:"exp,omitempty"`
	PSN           string `json:"psn,omitempty"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"cur"`
	EntryMode     string `json:"entry,omitempty"`
	ProcCode      string `json:"proc"`
	ICC           []byte `json:"icc,omitempty"`
	QR            string `json:"qr,omitempty"`
	STAN          string `json:"stan"`
	Transmission  string `json:"tx"` // field 7 of the original
	LocalTime     string `json:"lt"`
	LocalDate     string `json:"ld"`
	Reason        string `json:"reason,omitempty"` // field 39 of a reversal
	AuthCode      string `json:"auth,omitempty"`
	RRN           string `json:"rrn,omitempty"`
	TerminalID    string `json:"tid"`
	MerchantID    string `json:"mid"`
	AcquirerID    string `json:"acq,omitempty"`
	MCC           string `json:"mcc,omitempty"`
}

const recordVersion = 1

// String never shows the PAN digits, ICC data or QR payload.
func (r record) String() string {
	return fmt.Sprintf("%s txn %s stan %s %d %s", r.MTI, r.TransactionID, r.STAN, r.Amount, r.Currency)
}

// GoString masks too.
func (r record) GoString() string { return r.String() }

// LogValue keeps slog's JSON handler from marshalling the payload form.
func (r record) LogValue() slogValue { return slogString(r.String()) }

func (r *record) marshal() ([]byte, error) { return json.Marshal(r) }

// PayloadError means an offline entry's payload is not a message this
// uplink wrote; it can never be sent.
type PayloadError struct {
	ID  string
	Err error
}

func (e *PayloadError) Error() string {
	return fmt.Sprintf("uplink: entry %s: unusable payload: %v", e.ID, e.Err)
}

func (e *PayloadError) Unwrap() error { return e.Err }

func parseRecord(id string, b []byte) (record, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		// json errors may quote input; keep only the type of failure.
		return r, &PayloadError{ID: id, Err: fmt.Errorf("not JSON of a uplink record")}
	}
	if r.V != recordVersion {
		return r, &PayloadError{ID: id, Err: fmt.Errorf("record version %d, want %d", r.V, recordVersion)}
	}
	switch r.MTI {
	case MTIReversal, MTIReversalAdvice, MTIAdvice:
	default:
		return r, &PayloadError{ID: id, Err: fmt.Errorf("MTI %q is not a reversal or advice", r.MTI)}
	}
	if r.PAN != "" {
		if _, err := pan.Parse(r.PAN); err != nil {
			return r, &PayloadError{ID: id, Err: fmt.Errorf("bad PAN")}
		}
	}
	return r, nil
}

// repeatMTI returns the repeat form of a base MTI (0400 -> 0401).
func repeatMTI(mti string) string {
	return mti[:3] + "1"
}

// message rebuilds the wire message of a record with the given MTI.
func (r *record) message(mti string) *Message {
	m := &Message{
		MTI:            mti,
		ProcessingCode: r.ProcCode,
		Amount:         r.Amount,
		HasAmount:      true,
		Transmission:   r.Transmission,
		STAN:           r.STAN,
		LocalTime:      r.LocalTime,
		LocalDate:      r.LocalDate,
		Expiry:         r.Expiry,
		EntryMode:      r.EntryMode,
		PSN:            r.PSN,
		Condition:      "00",
		AcquirerID:     r.AcquirerID,
		TerminalID:     r.TerminalID,
		MerchantID:     r.MerchantID,
		Currency:       r.Currency,
		ICC:            r.ICC,
		TransactionID:  r.TransactionID,
		QR:             r.QR,
		AuthCode:       r.AuthCode,
		RRN:            r.RRN,
		MCC:            r.MCC,
	}
	if r.PAN != "" {
		m.PAN, _ = pan.Parse(r.PAN) // checked by parseRecord / built from a pan.PAN
	}
	switch r.MTI {
	case MTIReversal, MTIReversalAdvice:
		m.ResponseCode = r.Reason
		m.Original = originalData(r.OrigMTI, r.STAN, r.Transmission, r.AcquirerID)
	case MTIAdvice:
		m.ResponseCode = "Y1" // EMV: offline approved
		if r.Reason != "" {
			m.ResponseCode = r.Reason // Y3 (offline after unable to go online), 00 (completion)
		}
	}
	return m
}

// originalData builds field 90: original MTI (4), STAN (6), transmission
// date and time (10), acquiring institution (11, zero padded), forwarding
// institution (11 zeros).
func originalData(mti, stan, tx, acq string) string {
	a := acq
	if len(a) > 11 {
		a = a[len(a)-11:]
	}
	for len(a) < 11 {
		a = "0" + a
	}
	return mti + stan + tx + a + "00000000000"
}

// transmissionFields formats fields 7, 12 and 13 (UTC).
func transmissionFields(t time.Time) (tx, lt, ld string) {
	t = t.UTC()
	return t.Format("0102150405"), t.Format("150405"), t.Format("0102")
}
