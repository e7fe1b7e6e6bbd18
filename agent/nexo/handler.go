package nexo

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"posagent/agent"
	"posagent/offline"
)

// Engine is the part of agent's engine the nexo endpoint uses.
type Engine interface {
	Pay(ctx context.Context, r agent.PaymentRequest) (agent.Payment, error)
	Get(id string) (agent.Payment, error)
	List(since time.Time, limit int) ([]agent.Payment, error)
	Abort(ctx context.Context, id string) (agent.Payment, error)
	Void(ctx context.Context, id string) (agent.Payment, error)
	Refund(ctx context.Context, r agent.RefundRequest) (agent.Payment, error)
}

// Health is what a Diagnosis reports; cmd fills it from the engine's Status.
type Health struct {
	ReaderOK   bool   // at least one card input is ready
	AcquirerOK bool   // the uplink reached the acquirer lately
	AcquirerID string // shown in HostStatus
	Queue      int    // store-and-forward entries waiting
	Busy       bool   // a payment is in flight
}

// HealthOf reads the engine's status: a card reader configured, the uplink
// up, queue entries waiting to be sent (pending, in flight or held).
func HealthOf(st agent.Status) Health {
	h := Health{AcquirerOK: st.Uplink.Up, AcquirerID: st.Uplink.Addr}
	for _, in := range st.Readers {
		h.ReaderOK = h.ReaderOK || in.Kind != "scanner"
		h.Busy = h.Busy || in.Payment != ""
	}
	for _, s := range []offline.State{offline.StatePending, offline.StateInFlight, offline.StateHeld} {
		h.Queue += st.Queue.ByState[string(s)]
	}
	return h
}

// Options configure a Handler. The zero value refuses every message (no
// keys, plain not allowed) with a clean nexo answer.
type Options struct {
	// POIID is the terminal's id in MessageHeader.POIID; requests naming
	// another POIID are refused. Empty accepts any.
	POIID string
	// Keys decrypt secured messages and seal their answers.
	Keys *Keyring
	// AllowPlain accepts unencrypted messages (test benches only).
	AllowPlain bool
	// APIKey, when set, must be sent as X-API-Key (Adyen's libraries always
	// send the merchant's key; terminals ignore it).
	APIKey string
	// Health answers Diagnosis; nil: HealthOf the engine's Status when it
	// has one, else a terminal that is Ok.
	Health func() Health
	// Logger; nil discards.
	Logger *slog.Logger
	// LastScan bounds how far back a TransactionStatus without a
	// MessageReference looks for the SaleID's last payment after a restart
	// (default 24 h).
	LastScan time.Duration

	now func() time.Time
}

// Handler is the nexo endpoint: POST /nexo and /nexo/.
type Handler struct {
	eng  Engine
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	inflight map[string]int        // payment id -> requests waiting on it
	digests  map[serviceKey]string // body digest of each ServiceID seen (bounded)
	order    []serviceKey          // insertion order of digests, for eviction
	last     map[string]string     // SaleID -> id of its last payment
	logged   map[string]struct{}   // SaleIDs logged in
}

type serviceKey struct{ sale, service string }

// maxDigests bounds the ServiceID memory; maxScan the payments read to
// find a SaleID's last one after a restart.
const (
	maxDigests = 4096
	maxScan    = 10000
)

// NewHandler serves nexo on eng.
func NewHandler(eng Engine, opts Options) *Handler {
	h := &Handler{
		eng: eng, opts: opts, log: opts.Logger,
		inflight: map[string]int{}, digests: map[serviceKey]string{},
		last: map[string]string{}, logged: map[string]struct{}{},
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if st, ok := eng.(interface{ Status() agent.Status }); ok && h.opts.Health == nil {
		h.opts.Health = func() Health { return HealthOf(st.Status()) }
	}
	if h.opts.now == nil {
		h.opts.now = time.Now
	}
	if h.opts.LastScan <= 0 {
		h.opts.LastScan = 24 * time.Hour
	}
	return h
}

// ServeHTTP answers one message. Every answer is HTTP 200 with a nexo
// message (or, for Abort, an empty body as Adyen terminals give), except
// wrong path (404), method (405) or API key (401).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/nexo" && r.URL.Path != "/nexo/" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if h.opts.APIKey != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("X-API-Key")), []byte(h.opts.APIKey)) != 1 {
		http.Error(w, "invalid X-API-Key", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxMessage+1))
	if err != nil {
		return // the client went away
	}
	out := h.Answer(r.Context(), body)
	w.Header().Set("Content-Type", "application/json")
	if out != nil {
		w.Write(out)
	}
}

// Answer turns one HTTP body into the bytes to send back (nil: no answer,
// for Abort).
func (h *Handler) Answer(ctx context.Context, body []byte) []byte {
	env, err := SplitEnvelope(body)
	if err != nil {
		h.log.Warn("nexo: rejected message", "err", err)
		return h.reject(nil, err.Error(), body)
	}
	clear := []byte(env.Clear)
	var key *Key
	if env.Secured != nil {
		c, k, err := h.opts.Keys.Open(*env.Secured)
		if err != nil {
			h.log.Warn("nexo: rejected secured message", "err", err)
			return h.reject(env.Header, err.Error(), nil)
		}
		clear, key = c, &k
	}
	req, err := DecodeRequest(clear)
	if err != nil && !errors.Is(err, ErrBody) {
		h.log.Warn("nexo: rejected message", "err", err)
		return h.reject(env.Header, err.Error(), nil)
	}
	if err == nil && env.Secured != nil && env.Header != nil && !sameMessage(*env.Header, req.Header) {
		err = decErr(ErrBody, "MessageHeader", "the clear header differs from the encrypted one", nil)
	}
	resp := h.dispatch(ctx, req, err, key == nil)
	if resp == nil {
		return nil
	}
	doc, err := json.Marshal(map[string]any{"SaleToPOIResponse": resp})
	if err != nil {
		h.log.Error("nexo: encoding answer", "err", err)
		return h.reject(&req.Header, "internal error", nil)
	}
	if key == nil {
		return doc
	}
	hdr, _ := json.Marshal(resp.MessageHeader)
	sec, err := Seal(hdr, doc, *key)
	if err != nil {
		h.log.Error("nexo: sealing answer", "err", err)
		return h.reject(&req.Header, "internal error", nil)
	}
	out, _ := json.Marshal(map[string]any{"SaleToPOIResponse": sec})
	return out
}

// sameMessage: the clear copy of a secured message's header names the same
// message as the authenticated one inside.
func sameMessage(a, b MessageHeader) bool {
	return a.MessageCategory == b.MessageCategory && a.ServiceID == b.ServiceID && a.SaleID == b.SaleID && a.POIID == b.POIID
}

// reject is an EventNotification Reject, as a SaleToPOIRequest, for a
// message that cannot be answered in kind.
func (h *Handler) reject(hdr *MessageHeader, why string, rejected []byte) []byte {
	eh := MessageHeader{ProtocolVersion: ProtocolVersion, MessageClass: ClassEvent, MessageCategory: CategoryEvent,
		MessageType: TypeNotification, DeviceID: "", POIID: h.opts.POIID}
	if hdr != nil {
		eh.SaleID, eh.ServiceID = boundedID(hdr.SaleID, MaxID), boundedID(hdr.ServiceID, MaxServiceID)
		if eh.POIID == "" {
			eh.POIID = boundedID(hdr.POIID, MaxID)
		}
	}
	ev := EventNotification{EventToNotify: "Reject", EventDetails: "message=" + url.QueryEscape(why), TimeStamp: h.stamp(h.opts.now())}
	if len(rejected) > 0 && len(rejected) <= 4096 {
		ev.RejectedMessage = base64.StdEncoding.EncodeToString(rejected)
	}
	out, _ := json.Marshal(map[string]any{"SaleToPOIRequest": map[string]any{"MessageHeader": eh, "EventNotification": ev}})
	return out
}

func boundedID(s string, max int) string {
	if checkID("", s, max, false) != nil {
		return ""
	}
	return s
}

func (h *Handler) stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// dispatch answers a decoded request (or its decode error).
func (h *Handler) dispatch(ctx context.Context, req Request, derr error, plain bool) *SaleToPOIResponse {
	hdr := req.Header
	hdr.MessageType = TypeResponse
	if hdr.ProtocolVersion == "" {
		hdr.ProtocolVersion = ProtocolVersion
	}
	resp := &SaleToPOIResponse{MessageHeader: hdr}
	fail := func(c ErrorCondition, msg string) *SaleToPOIResponse {
		return h.failure(resp, req, c, msg)
	}
	switch {
	case derr == nil:
	case errors.Is(derr, ErrNotSupported):
		return fail(CondNotAllowed, derr.Error())
	default: // ErrBody: Answer rejected the others
		return fail(CondMessageFormat, derr.Error())
	}
	if plain && !h.opts.AllowPlain {
		return fail(CondNotAllowed, "unencrypted messages are not allowed on this terminal")
	}
	if h.opts.POIID != "" && req.Header.POIID != h.opts.POIID {
		return fail(CondNotAllowed, "POIID "+req.Header.POIID+" is not this terminal ("+h.opts.POIID+")")
	}
	if !h.remember(req) {
		return fail(CondMessageFormat, "ServiceID "+req.Header.ServiceID+" was already used by this SaleID with a different message")
	}
	switch req.Header.MessageCategory {
	case CategoryPayment:
		resp.PaymentResponse = h.payment(ctx, req)
	case CategoryTransactionStatus:
		resp.TransactionStatusResponse = h.transactionStatus(req)
	case CategoryAbort:
		h.abort(ctx, req)
		return nil
	case CategoryReversal:
		resp.ReversalResponse = h.reversal(ctx, req)
	case CategoryDiagnosis:
		resp.DiagnosisResponse = h.diagnosis(req)
	case CategoryLogin:
		h.mu.Lock()
		h.logged[req.Header.SaleID] = struct{}{}
		h.mu.Unlock()
		resp.LoginResponse = &BareResponse{Response: Response{Result: ResultSuccess}}
	case CategoryLogout:
		h.mu.Lock()
		delete(h.logged, req.Header.SaleID)
		h.mu.Unlock()
		resp.LogoutResponse = &BareResponse{Response: Response{Result: ResultSuccess}}
	default:
		if knownCategory(req.Header.MessageCategory) {
			return fail(CondNotAllowed, req.Header.MessageCategory+" is not supported by posagent")
		}
		return fail(CondMessageFormat, "unknown MessageCategory "+req.Header.MessageCategory)
	}
	return resp
}

// failure fills resp with the category's body holding only a Failure.
func (h *Handler) failure(resp *SaleToPOIResponse, req Request, c ErrorCondition, msg string) *SaleToPOIResponse {
	r := Response{Result: ResultFailure, ErrorCondition: c, AdditionalResponse: additional(msg, "")}
	switch req.Header.MessageCategory {
	case CategoryPayment:
		pr := &PaymentResponse{Response: r}
		if req.Payment != nil {
			pr.SaleData.SaleTransactionID = req.Payment.SaleData.SaleTransactionID
		}
		pr.POIData.POITransactionID = TransactionIdentification{TimeStamp: h.stamp(h.opts.now())}
		resp.PaymentResponse = pr
	case CategoryTransactionStatus:
		resp.TransactionStatusResponse = &TransactionStatusResponse{Response: r}
	case CategoryReversal:
		resp.ReversalResponse = &ReversalResponse{Response: r}
	case CategoryDiagnosis:
		resp.DiagnosisResponse = &DiagnosisResponse{Response: r}
	case CategoryLogin:
		resp.LoginResponse = &BareResponse{Response: r}
	case CategoryLogout:
		resp.LogoutResponse = &BareResponse{Response: r}
	case CategoryAbort:
		return nil // nexo has no AbortResponse
	default:
		resp.Other = map[string]*BareResponse{ResponseName(req.Header.MessageCategory): {Response: r}}
	}
	return resp
}

// additional is Response.AdditionalResponse, form-encoded as Adyen does.
func additional(msg, reason string) string {
	v := url.Values{}
	if msg != "" {
		v.Set("message", msg)
	}
	if reason != "" {
		v.Set("refusalReason", reason)
	}
	return v.Encode()
}

var nexoCategories = strings.Fields(`Abort Admin BalanceInquiry Batch CardAcquisition CardReaderApdu CardReaderInit
	CardReaderPowerOff Diagnosis Display EnableService Event GetTotals Input InputUpdate Login Logout Loyalty Pin
	Payment Print Reconciliation Reversal Sound StoredValue TransactionStatus Transmit`)

func knownCategory(c string) bool {
	for _, k := range nexoCategories {
		if k == c {
			return true
		}
	}
	return false
}

// remember records the digest of a request's body under its SaleID and
// ServiceID and reports whether it is new or the same as before.
func (h *Handler) remember(req Request) bool {
	sum := sha256.Sum256(append([]byte(req.Header.MessageCategory+"\x00"), req.Raw...))
	d := hex.EncodeToString(sum[:])
	k := serviceKey{req.Header.SaleID, req.Header.ServiceID}
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.digests[k]; ok {
		return old == d
	}
	if len(h.order) >= maxDigests {
		delete(h.digests, h.order[0])
		h.order = h.order[1:]
	}
	h.digests[k] = d
	h.order = append(h.order, k)
	return true
}

// PaymentID is the engine id of the payment a POS's SaleID and ServiceID
// name: deterministic, so that it needs no table of its own and survives a
// restart (the engine's ledger is the one record). It is
// "nexo-<8 hex of SaleID's SHA-256>-<ServiceID>" when the ServiceID is made
// of characters an engine id may hold (letters, digits, - _ . :), so that
// the ServiceID can be read back; otherwise "...-h<20 hex>" of a digest of
// both (21 characters: longer than any ServiceID, so never ambiguous).
func PaymentID(saleID, serviceID string) string {
	if plainServiceID(serviceID) {
		return salePrefix(saleID) + serviceID
	}
	t := sha256.Sum256([]byte(saleID + "\x00" + serviceID))
	return salePrefix(saleID) + "h" + hex.EncodeToString(t[:10])
}

// plainServiceID: a ServiceID that is itself a valid engine id suffix.
func plainServiceID(s string) bool {
	return len(s) <= MaxServiceID && agent.ValidID(s) == nil
}

func salePrefix(saleID string) string {
	s := sha256.Sum256([]byte(saleID))
	return "nexo-" + hex.EncodeToString(s[:4]) + "-"
}

// payment runs a PaymentRequest (Normal or Refund) on the engine.
func (h *Handler) payment(ctx context.Context, req Request) *PaymentResponse {
	p := req.Payment
	resp := &SaleToPOIResponse{MessageHeader: req.Header}
	fail := func(c ErrorCondition, msg string) *PaymentResponse {
		return h.failure(resp, req, c, msg).PaymentResponse
	}
	amount, err := toMinor(p.PaymentTransaction.AmountsReq.RequestedAmount, p.PaymentTransaction.AmountsReq.Currency)
	if err != nil {
		return fail(CondMessageFormat, "RequestedAmount: "+err.Error())
	}
	if amount <= 0 {
		return fail(CondMessageFormat, "RequestedAmount must be more than zero")
	}
	id := PaymentID(req.Header.SaleID, req.Header.ServiceID)
	if !h.enter(id) {
		return fail(CondBusy, "a payment is in progress on "+req.Header.POIID)
	}
	defer h.leave(id)
	h.mu.Lock()
	h.last[req.Header.SaleID] = id
	h.mu.Unlock()

	var pay agent.Payment
	refund := p.PaymentData != nil && p.PaymentData.PaymentType == PaymentRefund
	if refund {
		o := p.PaymentTransaction.OriginalPOITransaction
		if o == nil || o.POITransactionID == nil {
			return fail(CondNotAllowed, "refunds need PaymentTransaction.OriginalPOITransaction.POITransactionID (posagent does referenced refunds only)")
		}
		pay, err = h.eng.Refund(ctx, agent.RefundRequest{ID: id, PaymentID: o.POITransactionID.TransactionID, Amount: amount})
	} else {
		pay, err = h.eng.Pay(ctx, agent.PaymentRequest{
			ID: id, Amount: amount, Currency: strings.ToUpper(p.PaymentTransaction.AmountsReq.Currency),
			Reference: p.SaleData.SaleTransactionID.TransactionID,
		})
	}
	if err != nil {
		c, msg := engineCondition(err)
		h.log.Info("nexo: payment refused by the engine", "id", id, "err", err)
		return fail(c, msg)
	}
	out := h.paymentResponse(pay, p.SaleData.SaleTransactionID)
	if !pay.State.Final() {
		// The POS went away (ctx ended); it will ask TransactionStatus.
		out.Response = Response{Result: ResultFailure, ErrorCondition: CondInProgress}
	}
	return out
}

// enter admits a payment: one at a time per POIID (this handler serves one
// terminal), except a repeat of the one in flight.
func (h *Handler) enter(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, same := h.inflight[id]; !same && len(h.inflight) > 0 {
		return false
	}
	h.inflight[id]++
	return true
}

func (h *Handler) leave(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.inflight[id]--; h.inflight[id] <= 0 {
		delete(h.inflight, id)
	}
}

// engineCondition maps an engine error onto a nexo error condition.
func engineCondition(err error) (ErrorCondition, string) {
	var inv *agent.InvalidError
	switch {
	case errors.Is(err, agent.ErrBusy):
		return CondBusy, "a payment is in progress"
	case errors.Is(err, agent.ErrConflict):
		return CondMessageFormat, "ServiceID already used with a different request"
	case errors.As(err, &inv):
		return CondMessageFormat, inv.Field + ": " + inv.Reason
	case errors.Is(err, agent.ErrInvalid):
		return CondMessageFormat, "invalid request"
	case errors.Is(err, agent.ErrNotFound):
		return CondNotFound, "no such transaction"
	case errors.Is(err, agent.ErrWrongState):
		return CondNotAllowed, "not allowed in the transaction's state"
	case errors.Is(err, agent.ErrClosed):
		return CondUnavailableService, "terminal shutting down"
	}
	return CondUnavailableService, "terminal error"
}

// paymentResponse describes a payment record the way a PaymentResponse does.
func (h *Handler) paymentResponse(p agent.Payment, sale TransactionIdentification) *PaymentResponse {
	if sale.TransactionID == "" {
		sale.TransactionID = p.Reference
	}
	if sale.TimeStamp == "" {
		sale.TimeStamp = h.stamp(p.Created)
	}
	out := &PaymentResponse{
		SaleData: SaleData{SaleTransactionID: sale},
		POIData:  POIData{POITransactionID: TransactionIdentification{TransactionID: p.ID, TimeStamp: h.stamp(p.Created)}},
	}
	out.Response = paymentOutcome(p)
	res := &PaymentResult{
		PaymentType: PaymentNormal,
		OnlineFlag:  p.State != agent.StateApprovedOffline,
		AmountsResp: &AmountsResp{Currency: p.Currency, AuthorizedAmount: toMajor(p.Amount, p.Currency)},
	}
	if p.Kind == agent.KindRefund {
		res.PaymentType = PaymentRefund
	}
	if out.Response.Result != ResultSuccess {
		res.AmountsResp.AuthorizedAmount = "0"
	}
	if p.MaskedPAN != "" || p.EntryMode != "" {
		cd := &CardData{MaskedPan: p.MaskedPAN, PaymentBrand: p.Scheme}
		if m := entryMode(p.EntryMode); m != "" {
			cd.EntryMode = []string{m}
		}
		res.PaymentInstrumentData = &PaymentInstrumentData{PaymentInstrumentType: "Card", CardData: cd}
	}
	if p.TerminalID != "" || p.MerchantID != "" || p.AuthCode != "" {
		ad := &PaymentAcquirerData{AcquirerPOIID: p.TerminalID, MerchantID: p.MerchantID, ApprovalCode: p.AuthCode}
		if p.RRN != "" {
			ad.AcquirerTransactionID = &TransactionIdentification{TransactionID: p.RRN, TimeStamp: h.stamp(p.Updated)}
		}
		res.PaymentAcquirerData = ad
	}
	out.PaymentResult = res
	out.PaymentReceipt = receipts(p.Receipt)
	return out
}

// paymentOutcome is the Response of a payment in its state.
func paymentOutcome(p agent.Payment) Response {
	switch p.State {
	case agent.StateApproved, agent.StateApprovedOffline, agent.StateCaptured, agent.StateRefunded, agent.StateVoided:
		// voided: the payment was approved; the void is the Reversal's answer.
		return Response{Result: ResultSuccess}
	case agent.StateDeclined:
		c := CondRefusal
		switch p.Reason {
		case agent.ReasonAcquirerUnavailable, agent.ReasonNoResponse:
			c = CondUnreachableHost
		case agent.ReasonTimeout:
			c = CondCancel
		case agent.ReasonCardError, agent.ReasonTryAnotherInterface:
			c = CondInvalidCard
		case agent.ReasonAborted:
			c = CondAborted
		}
		return Response{Result: ResultFailure, ErrorCondition: c, AdditionalResponse: additional(p.Message, p.Reason)}
	case agent.StateAborted, agent.StateReversed:
		r := Response{Result: ResultFailure, ErrorCondition: CondAborted, AdditionalResponse: additional(p.Message, p.Reason)}
		if p.Reversed || p.State == agent.StateReversed {
			r.AdditionalResponse += "&reversed=true" // the request had left; the acquirer got a reversal
		}
		return r
	case agent.StateFailed:
		c := CondUnavailableService
		if p.Reason == agent.ReasonTimeout {
			c = CondCancel
		}
		return Response{Result: ResultFailure, ErrorCondition: c, AdditionalResponse: additional(p.Message, p.Reason)}
	}
	return Response{Result: ResultFailure, ErrorCondition: CondInProgress}
}

// entryMode maps the engine's entry mode onto nexo's EntryMode.
func entryMode(m string) string {
	switch m {
	case "contactless":
		return "Contactless"
	case "chip", "icc", "contact":
		return "Icc"
	case "magstripe", "swipe":
		return "MagStripe"
	case "keyed", "manual":
		return "Keyed"
	case "mobile":
		return "Mobile"
	}
	if strings.HasPrefix(m, "qr") {
		return "Scanned"
	}
	return ""
}

// receipts turns the engine's receipt lines into the cashier (merchant) and
// customer copies.
func receipts(r *agent.Receipt) []PaymentReceipt {
	if r == nil {
		return nil
	}
	var out []PaymentReceipt
	for _, c := range []struct {
		q     string
		lines []string
	}{{ReceiptCashier, r.Merchant}, {ReceiptCustomer, r.Customer}} {
		if len(c.lines) == 0 {
			continue
		}
		pr := PaymentReceipt{DocumentQualifier: c.q, OutputContent: OutputContent{OutputFormat: "Text"}}
		for _, l := range c.lines {
			pr.OutputContent.OutputText = append(pr.OutputContent.OutputText, OutputText{Text: l, EndOfLineFlag: true})
		}
		out = append(out, pr)
	}
	return out
}

// transactionStatus repeats the answer to the referenced payment, or to
// the SaleID's last one.
func (h *Handler) transactionStatus(req Request) *TransactionStatusResponse {
	ref := req.TransactionStatus.MessageReference
	sale := req.Header.SaleID
	var id string
	if ref != nil && ref.SaleID != "" {
		sale = ref.SaleID
	}
	if ref != nil && ref.MessageCategory != "" && ref.MessageCategory != CategoryPayment {
		return &TransactionStatusResponse{MessageReference: ref, Response: Response{Result: ResultFailure, ErrorCondition: CondNotFound,
			AdditionalResponse: additional("posagent keeps the status of Payment messages only", "")}}
	}
	if ref != nil && ref.ServiceID != "" {
		id = PaymentID(sale, ref.ServiceID)
	} else {
		id = h.lastPayment(sale)
	}
	notFound := &TransactionStatusResponse{MessageReference: ref, Response: Response{Result: ResultFailure, ErrorCondition: CondNotFound}}
	if id == "" {
		return notFound
	}
	p, err := h.eng.Get(id)
	if err != nil {
		if !errors.Is(err, agent.ErrNotFound) {
			h.log.Warn("nexo: transaction status", "id", id, "err", err)
		}
		return notFound
	}
	serviceID := ""
	if ref != nil {
		serviceID = ref.ServiceID
	}
	if serviceID == "" {
		serviceID = h.serviceOf(sale, id)
	}
	mr := &MessageReference{MessageCategory: CategoryPayment, SaleID: sale, ServiceID: serviceID, POIID: req.Header.POIID}
	if !p.State.Final() {
		return &TransactionStatusResponse{MessageReference: mr, Response: Response{Result: ResultFailure, ErrorCondition: CondInProgress}}
	}
	orig := MessageHeader{ProtocolVersion: ProtocolVersion, MessageClass: ClassService, MessageCategory: CategoryPayment,
		MessageType: TypeResponse, ServiceID: serviceID, SaleID: sale, POIID: req.Header.POIID}
	return &TransactionStatusResponse{
		MessageReference: mr,
		Response:         Response{Result: ResultSuccess},
		RepeatedMessageResponse: &RepeatedMessageResponse{
			MessageHeader:               orig,
			RepeatedResponseMessageBody: RepeatedResponseMessageBody{PaymentResponse: h.paymentResponse(p, TransactionIdentification{})},
		},
	}
}

// lastPayment is the id of a SaleID's last payment: remembered since start,
// else the newest in the engine's ledger with the SaleID's prefix.
func (h *Handler) lastPayment(sale string) string {
	h.mu.Lock()
	id := h.last[sale]
	h.mu.Unlock()
	if id != "" {
		return id
	}
	list, err := h.eng.List(h.opts.now().Add(-h.opts.LastScan), maxScan)
	if err != nil {
		h.log.Warn("nexo: listing payments", "err", err)
		return ""
	}
	prefix := salePrefix(sale)
	var best agent.Payment
	for _, p := range list {
		if strings.HasPrefix(p.ID, prefix) && p.Kind != agent.KindRefund && (best.ID == "" || p.Created.After(best.Created)) {
			best = p
		}
	}
	return best.ID
}

// serviceOf reads the ServiceID back from a payment id of sale's (see
// PaymentID); "" when it was hashed and not seen since start.
func (h *Handler) serviceOf(sale, id string) string {
	if rest, ok := strings.CutPrefix(id, salePrefix(sale)); ok && plainServiceID(rest) {
		return rest
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range h.digests {
		if k.sale == sale && PaymentID(k.sale, k.service) == id {
			return k.service
		}
	}
	return ""
}

// abort stops the referenced payment (nexo has no answer to an Abort).
func (h *Handler) abort(ctx context.Context, req Request) {
	ref := req.Abort.MessageReference
	sale := ref.SaleID
	if sale == "" {
		sale = req.Header.SaleID
	}
	id := PaymentID(sale, ref.ServiceID)
	p, err := h.eng.Abort(ctx, id)
	h.log.Info("nexo: abort", "id", id, "state", p.State, "err", err)
}

// reversal voids the referenced payment, or refunds ReversedAmount of it
// when that is less than the whole.
func (h *Handler) reversal(ctx context.Context, req Request) *ReversalResponse {
	r := req.Reversal
	orig := r.OriginalPOITransaction
	out := &ReversalResponse{OriginalPOITransaction: &orig}
	fail := func(c ErrorCondition, msg string) *ReversalResponse {
		out.Response = Response{Result: ResultFailure, ErrorCondition: c, AdditionalResponse: additional(msg, "")}
		return out
	}
	target := orig.POITransactionID.TransactionID
	p, err := h.eng.Get(target)
	if err != nil {
		c, msg := engineCondition(err)
		return fail(c, msg)
	}
	amount := p.Amount - p.Refunded
	if r.ReversedAmount != "" {
		if amount, err = toMinor(r.ReversedAmount, p.Currency); err != nil || amount <= 0 {
			return fail(CondMessageFormat, "ReversedAmount: not a positive amount in "+p.Currency)
		}
	}
	var res agent.Payment
	switch {
	case p.State == agent.StateVoided && r.ReversedAmount == "":
		res = p // a repeat: already reversed
	case amount < p.Amount-p.Refunded || p.State == agent.StateCaptured:
		res, err = h.eng.Refund(ctx, agent.RefundRequest{ID: PaymentID(req.Header.SaleID, req.Header.ServiceID), PaymentID: target, Amount: amount})
	default:
		res, err = h.eng.Void(ctx, target)
	}
	if err != nil {
		c, msg := engineCondition(err)
		return fail(c, msg)
	}
	switch res.State {
	case agent.StateVoided, agent.StateRefunded:
		out.Response = Response{Result: ResultSuccess}
		out.ReversedAmount = toMajor(amount, p.Currency)
	default:
		out.Response = paymentOutcome(res)
		if out.Response.Result == ResultSuccess {
			out.Response = Response{Result: ResultFailure, ErrorCondition: CondNotAllowed, AdditionalResponse: additional("transaction is "+string(res.State), "")}
		}
	}
	out.POIData = &POIData{POITransactionID: TransactionIdentification{TransactionID: res.ID, TimeStamp: h.stamp(res.Updated)}}
	out.PaymentReceipt = receipts(res.Receipt)
	return out
}

// diagnosis reports reader, uplink and queue state.
func (h *Handler) diagnosis(req Request) *DiagnosisResponse {
	st := Health{ReaderOK: true, AcquirerOK: true}
	if h.opts.Health != nil {
		st = h.opts.Health()
	}
	h.mu.Lock()
	if len(h.inflight) > 0 {
		st.Busy = true
	}
	var logged []string
	for s := range h.logged {
		logged = append(logged, s)
	}
	h.mu.Unlock()
	global := "Ok"
	switch {
	case !st.ReaderOK:
		global = "Maintenance"
	case !st.AcquirerOK:
		global = "Unreachable"
	case st.Busy:
		global = "Busy"
	}
	out := &DiagnosisResponse{
		Response:     Response{Result: ResultSuccess, AdditionalResponse: fmt.Sprintf("queue=%d", st.Queue)},
		POIStatus:    &POIStatus{GlobalStatus: global, CardReaderOKFlag: st.ReaderOK, CommunicationOKFlag: st.AcquirerOK},
		LoggedSaleID: logged,
	}
	if req.Diagnosis.HostDiagnosisFlag {
		id := st.AcquirerID
		if id == "" {
			id = "acquirer"
		}
		out.HostStatus = []HostStatus{{AcquirerID: id, IsReachableFlag: st.AcquirerOK}}
	}
	return out
}
