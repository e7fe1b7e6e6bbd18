package nexo

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/agent"
)

// fakeEngine is a small in-memory stand-in for agent's engine, for the
// handler's own logic only (the Adyen-client tests drive the real engine).
type fakeEngine struct {
	mu       sync.Mutex
	payments map[string]agent.Payment
	outcome  func(r agent.PaymentRequest) agent.Payment // final state of a payment
	hold     chan struct{}                              // when set, Pay waits on it (or an Abort)
	waits    func(r agent.PaymentRequest) bool          // Pay waits for an Abort (no card presented)
	aborts   map[string]chan struct{}
	active   string // the payment in flight
}

func newFake() *fakeEngine {
	return &fakeEngine{payments: map[string]agent.Payment{}, aborts: map[string]chan struct{}{}}
}

func (f *fakeEngine) Pay(ctx context.Context, r agent.PaymentRequest) (agent.Payment, error) {
	f.mu.Lock()
	if p, ok := f.payments[r.ID]; ok {
		f.mu.Unlock()
		if p.Amount != r.Amount || p.Reference != r.Reference {
			return agent.Payment{}, agent.ErrConflict
		}
		return p, nil
	}
	if f.active != "" {
		f.mu.Unlock()
		return agent.Payment{}, &agent.BusyError{InFlight: f.active}
	}
	f.active = r.ID
	p := agent.Payment{ID: r.ID, Kind: agent.KindPurchase, State: agent.StateWaitingForCard, Amount: r.Amount, Currency: r.Currency,
		Reference: r.Reference, Created: time.Now(), TerminalID: "T1", MerchantID: "M1"}
	f.payments[r.ID] = p
	ab := make(chan struct{})
	f.aborts[r.ID] = ab
	hold := f.hold
	f.mu.Unlock()
	if f.waits != nil && f.waits(r) {
		hold = make(chan struct{})
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ab:
			return f.set(r.ID, func(p *agent.Payment) { p.State, p.Reason = agent.StateAborted, agent.ReasonAborted }), nil
		case <-ctx.Done():
			return p, nil
		}
	}
	final := agent.Payment{State: agent.StateApproved}
	if f.outcome != nil {
		final = f.outcome(r)
	}
	return f.set(r.ID, func(p *agent.Payment) {
		p.State, p.Reason, p.AuthCode, p.MaskedPAN, p.EntryMode, p.Scheme = final.State, final.Reason, final.AuthCode, final.MaskedPAN, final.EntryMode, final.Scheme
		p.Receipt = &agent.Receipt{Merchant: []string{"MERCHANT COPY", "EUR " + string(toMajor(p.Amount, p.Currency))}, Customer: []string{"CUSTOMER COPY"}}
	}), nil
}

func (f *fakeEngine) set(id string, fn func(*agent.Payment)) agent.Payment {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.payments[id]
	fn(&p)
	if p.State.Final() && f.active == id {
		f.active = ""
	}
	p.Updated = time.Now()
	f.payments[id] = p
	return p
}

func (f *fakeEngine) Get(id string) (agent.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.payments[id]
	if !ok {
		return p, agent.ErrNotFound
	}
	return p, nil
}

func (f *fakeEngine) List(since time.Time, limit int) ([]agent.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []agent.Payment
	for _, p := range f.payments {
		out = append(out, p)
	}
	return out, nil
}

func (f *fakeEngine) Abort(ctx context.Context, id string) (agent.Payment, error) {
	f.mu.Lock()
	ab, ok := f.aborts[id]
	f.mu.Unlock()
	if !ok {
		return agent.Payment{}, agent.ErrNotFound
	}
	close(ab)
	return f.Get(id)
}

func (f *fakeEngine) Void(ctx context.Context, id string) (agent.Payment, error) {
	p, err := f.Get(id)
	if err != nil {
		return p, err
	}
	if p.State != agent.StateApproved {
		return p, agent.ErrWrongState
	}
	return f.set(id, func(p *agent.Payment) { p.State = agent.StateVoided }), nil
}

func (f *fakeEngine) Refund(ctx context.Context, r agent.RefundRequest) (agent.Payment, error) {
	orig, err := f.Get(r.PaymentID)
	if err != nil {
		return orig, err
	}
	if orig.State != agent.StateApproved || r.Amount > orig.Amount-orig.Refunded {
		return orig, agent.ErrWrongState
	}
	f.set(r.PaymentID, func(p *agent.Payment) { p.Refunded += r.Amount })
	p := agent.Payment{ID: r.ID, Kind: agent.KindRefund, State: agent.StateRefunded, Amount: r.Amount, Currency: orig.Currency, PaymentID: r.PaymentID, Created: time.Now()}
	f.mu.Lock()
	f.payments[r.ID] = p
	f.mu.Unlock()
	return p, nil
}

const testPOIID = "posagent-T1"

func msg(category, serviceID, body string) string {
	return `{"SaleToPOIRequest":{"MessageHeader":{"ProtocolVersion":"3.0","MessageClass":"Service","MessageCategory":"` + category +
		`","MessageType":"Request","ServiceID":"` + serviceID + `","SaleID":"POS-1","POIID":"` + testPOIID + `"},"` + bodyName(category) + `":` + body + `}}`
}

func payBody(tx string, amount string, extra string) string {
	return `{"SaleData":{"SaleTransactionID":{"TransactionID":"` + tx + `","TimeStamp":"2026-12-01T12:00:00.000Z"}},"PaymentTransaction":{"AmountsReq":{"Currency":"EUR","RequestedAmount":` + amount + `}` + extra + `}}`
}

// answer posts doc to h and decodes the SaleToPOIResponse (nil for an
// empty answer).
func answer(t *testing.T, h http.Handler, doc string) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/nexo", strings.NewReader(doc)))
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	if rec.Body.Len() == 0 {
		return nil
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
	}
	return out
}

// at walks a decoded JSON document: at(m, "SaleToPOIResponse", "PaymentResponse", "Response", "Result").
func at(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func result(out map[string]any, body string) (string, string) {
	r := at(out, "SaleToPOIResponse", body, "Response")
	res, _ := at(r, "Result").(string)
	cond, _ := at(r, "ErrorCondition").(string)
	return res, cond
}

func newTestHandler(eng Engine) *Handler {
	return NewHandler(eng, Options{POIID: testPOIID, AllowPlain: true})
}

func TestPaymentApprovedAndRepeat(t *testing.T) {
	eng := newFake()
	eng.outcome = func(agent.PaymentRequest) agent.Payment {
		return agent.Payment{State: agent.StateApproved, AuthCode: "A1B2C3", MaskedPAN: "476173******0010", EntryMode: "contactless", Scheme: "visa"}
	}
	h := newTestHandler(eng)
	out := answer(t, h, msg("Payment", "S1", payBody("TX1", "10.99", "")))
	if res, cond := result(out, "PaymentResponse"); res != "Success" || cond != "" {
		t.Fatalf("result %s %s: %v", res, cond, out)
	}
	pr := at(out, "SaleToPOIResponse", "PaymentResponse")
	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"SaleData", "SaleTransactionID", "TransactionID"}, "TX1"},
		{[]string{"POIData", "POITransactionID", "TransactionID"}, PaymentID("POS-1", "S1")},
		{[]string{"PaymentResult", "OnlineFlag"}, true},
		{[]string{"PaymentResult", "AmountsResp", "AuthorizedAmount"}, 10.99},
		{[]string{"PaymentResult", "PaymentInstrumentData", "CardData", "MaskedPan"}, "476173******0010"},
		{[]string{"PaymentResult", "PaymentAcquirerData", "ApprovalCode"}, "A1B2C3"},
	} {
		if got := at(pr, c.path...); got != c.want {
			t.Errorf("%v = %v, want %v", c.path, got, c.want)
		}
	}
	if got := at(pr, "PaymentResult", "PaymentInstrumentData", "CardData", "EntryMode"); len(got.([]any)) != 1 || got.([]any)[0] != "Contactless" {
		t.Errorf("EntryMode %v", got)
	}
	rc, _ := at(pr, "PaymentReceipt").([]any)
	if len(rc) != 2 || at(rc[0], "DocumentQualifier") != "CashierReceipt" || at(rc[1], "DocumentQualifier") != "CustomerReceipt" {
		t.Fatalf("receipts %v", rc)
	}
	if lines := at(rc[0], "OutputContent", "OutputText").([]any); at(lines[0], "Text") != "MERCHANT COPY" {
		t.Fatalf("merchant lines %v", lines)
	}
	if h := at(out, "SaleToPOIResponse", "MessageHeader"); at(h, "MessageType") != "Response" || at(h, "ServiceID") != "S1" {
		t.Fatalf("header %v", h)
	}
	// Same ServiceID, same body: the stored answer, no second payment.
	again := answer(t, h, msg("Payment", "S1", payBody("TX1", "10.99", "")))
	if res, _ := result(again, "PaymentResponse"); res != "Success" || len(eng.payments) != 1 {
		t.Fatalf("repeat: %v, %d payments", again, len(eng.payments))
	}
	// Same ServiceID, different body: MessageFormat, nothing done.
	diff := answer(t, h, msg("Payment", "S1", payBody("TX1", "11.99", "")))
	if res, cond := result(diff, "PaymentResponse"); res != "Failure" || cond != "MessageFormat" || len(eng.payments) != 1 {
		t.Fatalf("different body: %s %s, %d payments", res, cond, len(eng.payments))
	}
	// A fresh handler (a restart) with the same ledger: the engine's
	// conflict check still refuses a different amount under the ServiceID.
	h2 := newTestHandler(eng)
	diff = answer(t, h2, msg("Payment", "S1", payBody("TX1", "11.99", "")))
	if res, cond := result(diff, "PaymentResponse"); res != "Failure" || cond != "MessageFormat" {
		t.Fatalf("different body after restart: %s %s", res, cond)
	}
}

func TestPaymentOutcomes(t *testing.T) {
	for _, c := range []struct {
		name   string
		final  agent.Payment
		result string
		cond   string
	}{
		{"declined by issuer", agent.Payment{State: agent.StateDeclined, Reason: agent.ReasonIssuerDeclined}, "Failure", "Refusal"},
		{"acquirer down", agent.Payment{State: agent.StateDeclined, Reason: agent.ReasonAcquirerUnavailable}, "Failure", "UnreachableHost"},
		{"card error", agent.Payment{State: agent.StateFailed, Reason: agent.ReasonCardError}, "Failure", "UnavailableService"},
		{"timeout", agent.Payment{State: agent.StateFailed, Reason: agent.ReasonTimeout}, "Failure", "Cancel"},
		{"reversed", agent.Payment{State: agent.StateReversed, Reason: agent.ReasonNoResponse}, "Failure", "Aborted"},
		{"offline approval", agent.Payment{State: agent.StateApprovedOffline}, "Success", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			eng := newFake()
			eng.outcome = func(agent.PaymentRequest) agent.Payment { return c.final }
			out := answer(t, newTestHandler(eng), msg("Payment", "S1", payBody("TX1", "5", "")))
			if res, cond := result(out, "PaymentResponse"); res != c.result || cond != c.cond {
				t.Fatalf("got %s %s, want %s %s", res, cond, c.result, c.cond)
			}
			online := at(out, "SaleToPOIResponse", "PaymentResponse", "PaymentResult", "OnlineFlag")
			if (c.final.State == agent.StateApprovedOffline) == (online == true) {
				t.Fatalf("OnlineFlag %v for %s", online, c.final.State)
			}
		})
	}
}

func TestAbortBusyAndStatus(t *testing.T) {
	eng := newFake()
	eng.hold = make(chan struct{})
	h := newTestHandler(eng)
	done := make(chan map[string]any)
	go func() { done <- answer(t, h, msg("Payment", "S1", payBody("TX1", "20", ""))) }()
	waitFor(t, func() bool { _, err := eng.Get(PaymentID("POS-1", "S1")); return err == nil })

	// In progress: TransactionStatus says so; a second payment is Busy.
	st := answer(t, h, msg("TransactionStatus", "S2", `{"MessageReference":{"MessageCategory":"Payment","ServiceID":"S1","SaleID":"POS-1"}}`))
	if res, cond := result(st, "TransactionStatusResponse"); res != "Failure" || cond != "InProgress" {
		t.Fatalf("status in progress: %s %s", res, cond)
	}
	busy := answer(t, h, msg("Payment", "S3", payBody("TX2", "1", "")))
	if res, cond := result(busy, "PaymentResponse"); res != "Failure" || cond != "Busy" {
		t.Fatalf("second payment: %s %s", res, cond)
	}
	// Abort: no answer; the payment answers Failure/Aborted.
	if out := answer(t, h, msg("Abort", "S4", `{"AbortReason":"MerchantAbort","MessageReference":{"MessageCategory":"Payment","ServiceID":"S1","SaleID":"POS-1"}}`)); out != nil {
		t.Fatalf("abort answered %v", out)
	}
	out := <-done
	if res, cond := result(out, "PaymentResponse"); res != "Failure" || cond != "Aborted" {
		t.Fatalf("aborted payment: %s %s", res, cond)
	}
	// Status of the last one (no MessageReference), and after a "restart".
	for name, hh := range map[string]*Handler{"same": h, "restarted": newTestHandler(eng)} {
		st = answer(t, hh, msg("TransactionStatus", "S5", `{}`))
		if res, _ := result(st, "TransactionStatusResponse"); res != "Success" {
			t.Fatalf("%s: status: %v", name, st)
		}
		rep := at(st, "SaleToPOIResponse", "TransactionStatusResponse", "RepeatedMessageResponse")
		if at(rep, "RepeatedResponseMessageBody", "PaymentResponse", "Response", "ErrorCondition") != "Aborted" ||
			at(rep, "MessageHeader", "MessageCategory") != "Payment" {
			t.Fatalf("%s: repeated %v", name, rep)
		}
	}
	st = answer(t, h, msg("TransactionStatus", "S6", `{"MessageReference":{"ServiceID":"NOPE"}}`))
	if res, cond := result(st, "TransactionStatusResponse"); res != "Failure" || cond != "NotFound" {
		t.Fatalf("unknown: %s %s", res, cond)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("timed out")
}

func TestReversalAndRefund(t *testing.T) {
	eng := newFake()
	h := newTestHandler(eng)
	answer(t, h, msg("Payment", "S1", payBody("TX1", "30", "")))
	id := PaymentID("POS-1", "S1")
	// Referenced refund of 5.00 through PaymentType Refund.
	ref := answer(t, h, msg("Payment", "S2", `{"SaleData":{"SaleTransactionID":{"TransactionID":"TX2","TimeStamp":"t"}},"PaymentData":{"PaymentType":"Refund"},"PaymentTransaction":{"AmountsReq":{"Currency":"EUR","RequestedAmount":5},"OriginalPOITransaction":{"POITransactionID":{"TransactionID":"`+id+`","TimeStamp":"t"}}}}`))
	if res, _ := result(ref, "PaymentResponse"); res != "Success" || at(ref, "SaleToPOIResponse", "PaymentResponse", "PaymentResult", "PaymentType") != "Refund" {
		t.Fatalf("refund: %v", ref)
	}
	// Unreferenced refund: not supported, clean answer.
	un := answer(t, h, msg("Payment", "S3", `{"SaleData":{"SaleTransactionID":{"TransactionID":"TX3","TimeStamp":"t"}},"PaymentData":{"PaymentType":"Refund"},"PaymentTransaction":{"AmountsReq":{"Currency":"EUR","RequestedAmount":5}}}`))
	if res, cond := result(un, "PaymentResponse"); res != "Failure" || cond != "NotAllowed" {
		t.Fatalf("unreferenced refund: %s %s", res, cond)
	}
	// A second payment, reversed (voided) in full.
	answer(t, h, msg("Payment", "S4", payBody("TX4", "12", "")))
	rev := func(sid string) map[string]any {
		return answer(t, h, msg("Reversal", sid, `{"OriginalPOITransaction":{"POITransactionID":{"TransactionID":"`+PaymentID("POS-1", "S4")+`","TimeStamp":"t"}},"ReversalReason":"MerchantCancel"}`))
	}
	out := rev("S5")
	if res, _ := result(out, "ReversalResponse"); res != "Success" || at(out, "SaleToPOIResponse", "ReversalResponse", "ReversedAmount") != 12.0 {
		t.Fatalf("reversal: %v", out)
	}
	if p, _ := eng.Get(PaymentID("POS-1", "S4")); p.State != agent.StateVoided {
		t.Fatalf("state after reversal: %s", p.State)
	}
	if res, _ := result(rev("S5"), "ReversalResponse"); res != "Success" {
		t.Fatal("repeated reversal failed")
	}
	// Reversal of something unknown.
	out = answer(t, h, msg("Reversal", "S6", `{"OriginalPOITransaction":{"POITransactionID":{"TransactionID":"nope","TimeStamp":"t"}},"ReversalReason":"MerchantCancel"}`))
	if res, cond := result(out, "ReversalResponse"); res != "Failure" || cond != "NotFound" {
		t.Fatalf("unknown reversal: %s %s", res, cond)
	}
}

func TestOtherMessagesAndRefusals(t *testing.T) {
	eng := newFake()
	h := NewHandler(eng, Options{POIID: testPOIID, AllowPlain: true, Health: func() Health {
		return Health{ReaderOK: true, AcquirerOK: false, AcquirerID: "acqsim", Queue: 3}
	}})
	d := answer(t, h, msg("Diagnosis", "D1", `{"HostDiagnosisFlag":true}`))
	if at(d, "SaleToPOIResponse", "DiagnosisResponse", "POIStatus", "GlobalStatus") != "Unreachable" ||
		at(d, "SaleToPOIResponse", "DiagnosisResponse", "HostStatus").([]any)[0].(map[string]any)["IsReachableFlag"] != false ||
		at(d, "SaleToPOIResponse", "DiagnosisResponse", "Response", "AdditionalResponse") != "queue=3" {
		t.Fatalf("diagnosis %v", d)
	}
	if res, _ := result(answer(t, h, msg("Login", "L1", `{"DateTime":"2026-12-01T12:00:00Z","OperatorLanguage":"en","SaleSoftware":{}}`)), "LoginResponse"); res != "Success" {
		t.Fatal("login")
	}
	if res, _ := result(answer(t, h, msg("Logout", "L2", `{}`)), "LogoutResponse"); res != "Success" {
		t.Fatal("logout")
	}
	if res, cond := result(answer(t, h, msg("Print", "P1", `{}`)), "PrintResponse"); res != "Failure" || cond != "NotAllowed" {
		t.Fatalf("print: %s %s", res, cond)
	}
	if res, cond := result(answer(t, h, msg("Teleport", "P2", `{}`)), "TeleportResponse"); res != "Failure" || cond != "MessageFormat" {
		t.Fatalf("unknown category: %s %s", res, cond)
	}
	bad := strings.Replace(msg("Payment", "P3", payBody("TX", "1", "")), testPOIID, "other-POI", 1)
	if res, cond := result(answer(t, h, bad), "PaymentResponse"); res != "Failure" || cond != "NotAllowed" {
		t.Fatalf("other POIID: %s %s", res, cond)
	}
	if res, cond := result(answer(t, h, msg("Payment", "P4", payBody("TX", "1.001", ""))), "PaymentResponse"); res != "Failure" || cond != "MessageFormat" {
		t.Fatalf("3 decimals: %s %s", res, cond)
	}
	// Garbage: an EventNotification Reject, never a 500 or a hang.
	for _, doc := range []string{"", "{", `{"SaleToPOIRequest":{}}`, `{"SaleToPOIRequest":{"NexoBlob":"x"}}`} {
		out := answer(t, h, doc)
		if at(out, "SaleToPOIRequest", "EventNotification", "EventToNotify") != "Reject" {
			t.Fatalf("%q: %v", doc, out)
		}
	}
	// Plain not allowed.
	strict := NewHandler(eng, Options{POIID: testPOIID})
	if res, cond := result(answer(t, strict, msg("Payment", "P5", payBody("TX", "1", ""))), "PaymentResponse"); res != "Failure" || cond != "NotAllowed" {
		t.Fatalf("plain refused: %s %s", res, cond)
	}
	if len(eng.payments) != 0 {
		t.Fatalf("%d payments made by refused messages", len(eng.payments))
	}
	// HTTP level.
	for _, c := range []struct {
		method, path string
		code         int
	}{{"GET", "/nexo", 405}, {"POST", "/other", 404}} {
		rec := httptest.NewRecorder()
		strict.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.code {
			t.Errorf("%s %s = %d", c.method, c.path, rec.Code)
		}
	}
	keyed := NewHandler(eng, Options{APIKey: "k"})
	rec := httptest.NewRecorder()
	keyed.ServeHTTP(rec, httptest.NewRequest("POST", "/nexo/", strings.NewReader("{}")))
	if rec.Code != 401 {
		t.Errorf("missing API key: %d", rec.Code)
	}
}

func TestSecuredAnswers(t *testing.T) {
	eng := newFake()
	k := testKey(t, "posagent", 1, "shared passphrase")
	ring, _ := NewKeyring(k)
	h := NewHandler(eng, Options{POIID: testPOIID, Keys: ring})
	seal := func(doc string, key Key) string {
		var m map[string]map[string]json.RawMessage
		json.Unmarshal([]byte(doc), &m)
		s, _ := Seal(m["SaleToPOIRequest"]["MessageHeader"], []byte(doc), key)
		b, _ := json.Marshal(map[string]any{"SaleToPOIRequest": s})
		return string(b)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/nexo", strings.NewReader(seal(msg("Payment", "E1", payBody("TX", "1", "")), k))))
	var outer struct{ SaleToPOIResponse Secured }
	if err := json.Unmarshal(rec.Body.Bytes(), &outer); err != nil || outer.SaleToPOIResponse.NexoBlob == "" {
		t.Fatalf("secured answer: %v %s", err, rec.Body)
	}
	clear, _, err := ring.Open(outer.SaleToPOIResponse)
	if err != nil || !strings.Contains(string(clear), `"Result":"Success"`) {
		t.Fatalf("open answer: %v %s", err, clear)
	}
	// Wrong passphrase, unknown key: Reject, nothing done.
	for name, key := range map[string]Key{"wrong passphrase": testKey(t, "posagent", 1, "guess"), "unknown key": testKey(t, "other", 1, "shared passphrase")} {
		out := answer(t, h, seal(msg("Payment", "E2", payBody("TX", "1", "")), key))
		if at(out, "SaleToPOIRequest", "EventNotification", "EventToNotify") != "Reject" {
			t.Fatalf("%s: %v", name, out)
		}
	}
	// A clear header that names another message than the sealed one.
	doc := seal(msg("Payment", "E3", payBody("TX", "1", "")), k)
	doc = strings.Replace(doc, `"ServiceID":"E3"`, `"ServiceID":"E4"`, 1)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/nexo", strings.NewReader(doc)))
	json.Unmarshal(rec.Body.Bytes(), &outer)
	clear, _, err = ring.Open(outer.SaleToPOIResponse)
	if err != nil || !strings.Contains(string(clear), `"ErrorCondition":"MessageFormat"`) {
		t.Fatalf("mismatched header: %v %s", err, clear)
	}
	if len(eng.payments) != 1 {
		t.Fatalf("%d payments", len(eng.payments))
	}
}

func TestHealthOf(t *testing.T) {
	h := HealthOf(agent.Status{
		Readers: []agent.InputStatus{{Name: "sim", Kind: "reader", Payment: "p1"}},
		Uplink:  agent.UplinkStatus{Configured: true, Up: true, Addr: "acq:1"},
		Queue:   agent.QueueStatus{ByState: map[string]int{"pending": 2, "in-flight": 1, "done": 7}},
	})
	if h != (Health{ReaderOK: true, AcquirerOK: true, AcquirerID: "acq:1", Queue: 3, Busy: true}) {
		t.Fatalf("%+v", h)
	}
	if h := HealthOf(agent.Status{Readers: []agent.InputStatus{{Kind: "scanner"}}}); h.ReaderOK || h.AcquirerOK {
		t.Fatalf("%+v", h)
	}
}

// FuzzAnswer: any body gets valid JSON or, for an Abort, nothing; never a
// panic.
func FuzzAnswer(f *testing.F) {
	for _, c := range []string{"Payment", "TransactionStatus", "Reversal", "Diagnosis", "Login", "Logout", "Print"} {
		f.Add([]byte(msg(c, "S1", `{}`)))
	}
	f.Add([]byte(msg("Payment", "S2", payBody("TX", "10.99", ""))))
	f.Add([]byte(msg("Abort", "S3", `{"AbortReason":"x","MessageReference":{"ServiceID":"S2"}}`)))
	f.Add([]byte(msg("Reversal", "S4", `{"OriginalPOITransaction":{"POITransactionID":{"TransactionID":"x","TimeStamp":"t"}},"ReversalReason":"MerchantCancel","ReversedAmount":1.5}`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		h := newTestHandler(newFake())
		out := h.Answer(context.Background(), b)
		if out != nil && !json.Valid(out) {
			t.Fatalf("invalid JSON answer %q", out)
		}
	})
}

func TestPaymentID(t *testing.T) {
	ids := map[string]bool{}
	for _, c := range []struct{ sale, service string }{
		{"POS-1", "1234567890"}, {"POS-1", "S1"}, {"POS-2", "S1"}, {"POS-1", "a b"}, {"POS-1", "ü"}, {"", "x"},
		{strings.Repeat("s", MaxID), strings.Repeat("9", MaxServiceID)},
	} {
		id := PaymentID(c.sale, c.service)
		if len(id) > 64 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") != "" {
			t.Errorf("PaymentID(%q, %q) = %q: not an engine id", c.sale, c.service, id)
		}
		if ids[id] {
			t.Errorf("PaymentID(%q, %q) = %q twice", c.sale, c.service, id)
		}
		ids[id] = true
		h := newTestHandler(newFake())
		got := h.serviceOf(c.sale, id)
		if plainServiceID(c.service) != (got == c.service) {
			t.Errorf("serviceOf(%q) = %q, want %q", id, got, c.service)
		}
	}
}
