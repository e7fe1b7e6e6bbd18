package nexo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what the decoder accepts.
const (
	MaxMessage   = 64 << 10 // one HTTP body, clear or secured
	MaxServiceID = 10       // nexo: ServiceID is at most 10 characters
	MaxID        = 64       // SaleID, POIID, TransactionID, other identifiers
	maxCategory  = 32
)

// Decoder errors, grouped the way encoding/asn1 groups them: bytes that are
// not a message at all, a header that cannot be answered in kind, and a body
// that is wrong for its (known) category.
var (
	ErrSyntax = errors.New("nexo: not a SaleToPOIRequest")
	ErrHeader = errors.New("nexo: bad MessageHeader")
	ErrBody   = errors.New("nexo: bad message body")
)

// DecodeError names the field that is wrong. It unwraps to ErrSyntax,
// ErrHeader or ErrBody and, where there is one, to the JSON error.
type DecodeError struct {
	Kind   error // ErrSyntax, ErrHeader, ErrBody
	Field  string
	Reason string
	Err    error
}

func (e *DecodeError) Error() string {
	s := e.Kind.Error()
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

func (e *DecodeError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}

func decErr(kind error, field, reason string, err error) *DecodeError {
	return &DecodeError{Kind: kind, Field: field, Reason: reason, Err: err}
}

// Envelope is an HTTP body split into its clear header (when readable) and
// either a clear message or a secured one.
type Envelope struct {
	Secured *Secured        // set when the body carries a NexoBlob
	Clear   json.RawMessage // the whole {"SaleToPOIRequest": ...} document otherwise
	Header  *MessageHeader  // the outer header, nil when it does not decode
}

// SplitEnvelope reads an HTTP body: {"SaleToPOIRequest": {...}}, secured
// (NexoBlob, SecurityTrailer) or clear.
func SplitEnvelope(body []byte) (Envelope, error) {
	if len(body) > MaxMessage {
		return Envelope{}, decErr(ErrSyntax, "", fmt.Sprintf("message longer than %d bytes", MaxMessage), nil)
	}
	inner, err := outer(body)
	if err != nil {
		return Envelope{}, err
	}
	var env Envelope
	if raw, ok := inner["MessageHeader"]; ok {
		var h MessageHeader
		if json.Unmarshal(raw, &h) == nil {
			env.Header = &h
		}
	}
	if _, ok := inner["NexoBlob"]; !ok {
		env.Clear = body
		return env, nil
	}
	var s Secured
	if err := json.Unmarshal(inner["NexoBlob"], &s.NexoBlob); err != nil {
		return env, decErr(ErrSyntax, "NexoBlob", "not a string", err)
	}
	if raw, ok := inner["SecurityTrailer"]; ok {
		s.SecurityTrailer = new(SecurityTrailer)
		if err := json.Unmarshal(raw, s.SecurityTrailer); err != nil {
			return env, decErr(ErrSyntax, "SecurityTrailer", "wrong shape", err)
		}
	}
	s.MessageHeader = inner["MessageHeader"]
	env.Secured = &s
	return env, nil
}

// outer checks the document is {"SaleToPOIRequest": {object}} and returns
// the object's members.
func outer(body []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(body) {
		return nil, decErr(ErrSyntax, "", "not UTF-8", nil)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, decErr(ErrSyntax, "", "not a JSON object", err)
	}
	raw, ok := doc["SaleToPOIRequest"]
	if !ok || len(doc) != 1 {
		return nil, decErr(ErrSyntax, "SaleToPOIRequest", "must be the only member", nil)
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(raw, &inner); err != nil || inner == nil {
		return nil, decErr(ErrSyntax, "SaleToPOIRequest", "not an object", err)
	}
	return inner, nil
}

// bodyName is the member that holds a category's request body.
func bodyName(category string) string {
	switch category {
	case "CardReaderApdu":
		return "CardReaderAPDURequest"
	case "Pin":
		return "PINRequest"
	case "Event":
		return "EventNotification"
	}
	return category + "Request"
}

// ResponseName is the member that holds a category's response body.
func ResponseName(category string) string {
	switch category {
	case "CardReaderApdu":
		return "CardReaderAPDUResponse"
	case "Pin":
		return "PINResponse"
	}
	return category + "Response"
}

// DecodeRequest decodes a clear {"SaleToPOIRequest": ...} document. On an
// ErrBody error the returned Request still has the decoded Header (so the
// answer can name the category).
func DecodeRequest(doc []byte) (Request, error) {
	if len(doc) > MaxMessage {
		return Request{}, decErr(ErrSyntax, "", fmt.Sprintf("message longer than %d bytes", MaxMessage), nil)
	}
	inner, err := outer(doc)
	if err != nil {
		return Request{}, err
	}
	var req Request
	rawHeader, ok := inner["MessageHeader"]
	if !ok {
		return req, decErr(ErrHeader, "MessageHeader", "missing", nil)
	}
	if err := strictUnmarshal(rawHeader, &req.Header); err != nil {
		return req, decErr(ErrHeader, "MessageHeader", "wrong shape", err)
	}
	if err := checkHeader(&req.Header); err != nil {
		return req, err
	}
	name := bodyName(req.Header.MessageCategory)
	if len(inner) != 2 {
		return req, decErr(ErrBody, name, "expected MessageHeader and exactly one body", nil)
	}
	raw, ok := inner[name]
	if !ok {
		return req, decErr(ErrBody, name, "missing (the body must match MessageCategory)", nil)
	}
	req.Raw = raw
	var target any
	switch req.Header.MessageCategory {
	case CategoryPayment:
		req.Payment = new(PaymentRequest)
		target = req.Payment
	case CategoryTransactionStatus:
		req.TransactionStatus = new(TransactionStatusRequest)
		target = req.TransactionStatus
	case CategoryAbort:
		req.Abort = new(AbortRequest)
		target = req.Abort
	case CategoryReversal:
		req.Reversal = new(ReversalRequest)
		target = req.Reversal
	case CategoryDiagnosis:
		req.Diagnosis = new(DiagnosisRequest)
		target = req.Diagnosis
	case CategoryLogin:
		req.Login = new(LoginRequest)
		target = req.Login
	case CategoryLogout:
		req.Logout = new(LogoutRequest)
		target = req.Logout
	default:
		return req, nil // answered NotAllowed by the handler
	}
	if err := strictUnmarshal(raw, target); err != nil {
		return req, decErr(ErrBody, name, "wrong shape", err)
	}
	if err := checkBody(&req); err != nil {
		return req, err
	}
	return req, nil
}

// strictUnmarshal decodes one JSON value with numbers kept as json.Number
// and nothing after it. Unknown members are ignored (nexo has many that
// posagent does not use; docs/nexo.md lists them).
func strictUnmarshal(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

func checkHeader(h *MessageHeader) error {
	bad := func(field, reason string) error { return decErr(ErrHeader, field, reason, nil) }
	if h.ProtocolVersion != "" && !strings.HasPrefix(h.ProtocolVersion, "3.") {
		return bad("ProtocolVersion", fmt.Sprintf("%.16q not supported (3.x)", h.ProtocolVersion))
	}
	if h.MessageClass != ClassService && h.MessageClass != ClassDevice {
		return bad("MessageClass", fmt.Sprintf("%.16q: expected Service or Device", h.MessageClass))
	}
	if h.MessageType != TypeRequest {
		return bad("MessageType", fmt.Sprintf("%.16q: expected Request", h.MessageType))
	}
	if c := h.MessageCategory; c == "" || len(c) > maxCategory || strings.IndexFunc(c, notAlnum) >= 0 {
		return bad("MessageCategory", "must be 1..32 letters or digits")
	}
	if err := checkID("ServiceID", h.ServiceID, MaxServiceID, true); err != nil {
		return decErr(ErrHeader, "ServiceID", err.Error(), nil)
	}
	if err := checkID("SaleID", h.SaleID, MaxID, true); err != nil {
		return decErr(ErrHeader, "SaleID", err.Error(), nil)
	}
	if err := checkID("POIID", h.POIID, MaxID, true); err != nil {
		return decErr(ErrHeader, "POIID", err.Error(), nil)
	}
	if err := checkID("DeviceID", h.DeviceID, MaxID, false); err != nil {
		return decErr(ErrHeader, "DeviceID", err.Error(), nil)
	}
	return nil
}

func notAlnum(r rune) bool {
	return r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r))
}

// checkID bounds an identifier and refuses control characters (they would
// reach logs and payment ids).
func checkID(field, s string, max int, required bool) error {
	switch {
	case s == "" && required:
		return errors.New("missing")
	case utf8.RuneCountInString(s) > max:
		return fmt.Errorf("longer than %d characters", max)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return errors.New("control character")
	}
	return nil
}

func checkBody(req *Request) error {
	name := bodyName(req.Header.MessageCategory)
	bad := func(field, reason string) error { return decErr(ErrBody, name+"."+field, reason, nil) }
	switch {
	case req.Payment != nil:
		p := req.Payment
		if err := checkID("", p.SaleData.SaleTransactionID.TransactionID, MaxID, true); err != nil {
			return bad("SaleData.SaleTransactionID.TransactionID", err.Error())
		}
		if err := checkID("", p.SaleData.SaleTransactionID.TimeStamp, MaxID, false); err != nil {
			return bad("SaleData.SaleTransactionID.TimeStamp", err.Error())
		}
		if len(p.PaymentTransaction.AmountsReq.Currency) != 3 {
			return bad("PaymentTransaction.AmountsReq.Currency", "must be an ISO 4217 code")
		}
		if p.PaymentTransaction.AmountsReq.RequestedAmount == "" {
			return bad("PaymentTransaction.AmountsReq.RequestedAmount", "missing")
		}
		if p.PaymentData != nil {
			switch p.PaymentData.PaymentType {
			case "", PaymentNormal, PaymentRefund:
			default:
				return &DecodeError{Kind: ErrBody, Field: name + ".PaymentData.PaymentType", Reason: "not supported", Err: ErrNotSupported}
			}
		}
		if o := p.PaymentTransaction.OriginalPOITransaction; o != nil {
			if err := checkOriginal(o); err != nil {
				return bad("PaymentTransaction.OriginalPOITransaction", err.Error())
			}
		}
	case req.TransactionStatus != nil:
		if m := req.TransactionStatus.MessageReference; m != nil {
			if err := checkReference(m); err != nil {
				return bad("MessageReference", err.Error())
			}
		}
	case req.Abort != nil:
		if err := checkReference(&req.Abort.MessageReference); err != nil {
			return bad("MessageReference", err.Error())
		}
		if req.Abort.MessageReference.ServiceID == "" {
			return bad("MessageReference.ServiceID", "missing")
		}
		if len(req.Abort.AbortReason) > 256 {
			return bad("AbortReason", "too long")
		}
	case req.Reversal != nil:
		r := req.Reversal
		if err := checkOriginal(&r.OriginalPOITransaction); err != nil {
			return bad("OriginalPOITransaction", err.Error())
		}
		if r.OriginalPOITransaction.POITransactionID == nil {
			return bad("OriginalPOITransaction.POITransactionID", "missing")
		}
		switch r.ReversalReason {
		case ReasonMerchantCancel, ReasonCustCancel, ReasonMalfunction:
		default:
			return bad("ReversalReason", "must be MerchantCancel, CustCancel or Malfunction")
		}
	}
	return nil
}

// ErrNotSupported marks a well-formed request posagent does not do.
var ErrNotSupported = errors.New("nexo: not supported")

func checkReference(m *MessageReference) error {
	for _, f := range []struct {
		name, v string
		max     int
	}{{"ServiceID", m.ServiceID, MaxServiceID}, {"SaleID", m.SaleID, MaxID}, {"POIID", m.POIID, MaxID}, {"DeviceID", m.DeviceID, MaxID}, {"MessageCategory", m.MessageCategory, maxCategory}} {
		if err := checkID(f.name, f.v, f.max, false); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

func checkOriginal(o *OriginalPOITransaction) error {
	if err := checkID("SaleID", o.SaleID, MaxID, false); err != nil {
		return fmt.Errorf("SaleID: %w", err)
	}
	if err := checkID("POIID", o.POIID, MaxID, false); err != nil {
		return fmt.Errorf("POIID: %w", err)
	}
	if t := o.POITransactionID; t != nil {
		if err := checkID("", t.TransactionID, MaxID, true); err != nil {
			return fmt.Errorf("POITransactionID.TransactionID: %w", err)
		}
	}
	return nil
}
