package agent_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"posagent/agent"
	"posagent/emv"
	"posagent/offline"
	"posagent/qr"
)

// The merchant-presented flow on the real engine, the real uplink and the
// real acquirer simulator; the customer's wallet is acqsim's PayQR.

var qrMerchant = qr.Merchant{
	Accounts: []qr.Field{{ID: "26", Sub: []qr.Field{{ID: "00", Value: "com.posagent.acqsim"}, {ID: "01", Value: "MERCHANT0000001"}}}},
	MCC:      "5812", Country: "DE", Name: "SHOP", City: "BERLIN",
}

func qrEnv(t *testing.T, timeout time.Duration) *env {
	return newEnv(t, envOpts{tweak: func(c *agent.Config) {
		m := qrMerchant
		c.QRMerchant = &m
		c.QRPoll = 50 * time.Millisecond
		c.QRTimeout = timeout
	}})
}

func qrRequest(id string, amount int64) agent.PaymentRequest {
	return agent.PaymentRequest{ID: id, Amount: amount, Currency: "EUR", Method: agent.MethodQRMerchant}
}

// heldEntries counts the payment's reversals still armed.
func heldEntries(t *testing.T, e *env, id string) int {
	t.Helper()
	entries, err := e.eng.QueueEntries()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, en := range entries {
		if en.Payment == id && en.State == string(offline.StateHeld) {
			n++
		}
	}
	return n
}

func TestMerchantQRApproved(t *testing.T) {
	e := qrEnv(t, 10*time.Second)
	ch, cancel := e.eng.Subscribe(0)
	defer cancel()
	p, err := e.eng.Start(context.Background(), qrRequest("mqr-1", 1999))
	if err != nil {
		t.Fatal(err)
	}
	if p.EntryMode != "qr_merchant" || p.State != agent.StateCreated {
		t.Fatalf("created: %+v", p)
	}
	m, err := qr.DecodeMPM(p.QRPayload)
	if err != nil || m.Reference() != "mqr-1" {
		t.Fatalf("payload %q: %v", p.QRPayload, err)
	}
	if term, _ := m.Get("62", "07"); term != p.TerminalID {
		t.Fatalf("62/07 %q, terminal %q", term, p.TerminalID)
	}
	if amount, cur, _, _ := m.Amount(); amount != 1999 || cur != "EUR" {
		t.Fatalf("code amount %d %s", amount, cur)
	}
	waitEvent(t, ch, func(ev agent.Event) bool { return ev.Payment == "mqr-1" && ev.Prompt == agent.PromptSeePhone })
	waitEvent(t, ch, func(ev agent.Event) bool { return ev.Payment == "mqr-1" && ev.State == agent.StateOnline })
	time.Sleep(150 * time.Millisecond) // a few "pending" answers
	if got, _ := e.eng.Get("mqr-1"); got.State != agent.StateOnline || got.QRPayload != p.QRPayload {
		t.Fatalf("while waiting: %s %q", got.State, got.QRPayload)
	}
	if _, err := e.srv.PayQR(p.QRPayload); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	p, err = e.eng.Wait(ctx, "mqr-1")
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, p, agent.StateApproved, "")
	if p.EntryMode != "qr_merchant" || p.Scheme != "emvco-mpm" || p.Method != agent.MethodQRMerchant || p.AuthCode == "" {
		t.Fatalf("approved: %+v", p)
	}
	states := []agent.State{}
	for _, s := range p.History {
		states = append(states, s.State)
	}
	if len(states) != 4 || states[0] != agent.StateCreated || states[1] != agent.StateWaitingForCard || states[2] != agent.StateOnline {
		t.Fatalf("history %v", states)
	}
	if n := heldEntries(t, e, "mqr-1"); n != 0 {
		t.Fatalf("%d reversals still armed", n)
	}
	recs := e.records("mqr-1")
	if len(recs["financial"]) != 1 || len(recs["wallet"]) != 1 || len(recs["reversal"]) != 0 {
		t.Fatalf("journal: %+v", recs)
	}
	tot, err := e.eng.Totals(time.Time{})
	if err != nil || tot.Net["EUR"] != 1999 {
		t.Fatalf("totals %+v %v", tot, err)
	}
	// Approved like a card: it can be voided (reversal exactly once).
	v, err := e.eng.Void(context.Background(), "mqr-1")
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, v, agent.StateVoided, "")
	e.settle()
	if recs := e.records("mqr-1"); len(recs["reversal"]) != 1 || !recs["reversal"][0].ReversesApproved {
		t.Fatalf("journal after void: %+v", recs)
	}
}

func TestMerchantQRTimeout(t *testing.T) {
	e := qrEnv(t, 400*time.Millisecond)
	p := e.pay("mqr-late", "", 1999, func(r *agent.PaymentRequest) { r.Method = agent.MethodQRMerchant })
	wantState(t, p, agent.StateAborted, agent.ReasonTimeout)
	if p.Reversed || heldEntries(t, e, "mqr-late") != 0 {
		t.Fatalf("timeout: %+v", p)
	}
	// The code is of no use any more: the wallet pays it, nobody asks.
	e.settle()
	if recs := e.records("mqr-late"); len(recs["financial"]) != 0 || len(recs["reversal"]) != 0 {
		t.Fatalf("journal: %+v", recs)
	}
}

func TestMerchantQRAbortWhileWaiting(t *testing.T) {
	e := qrEnv(t, 10*time.Second)
	ch, cancel := e.eng.Subscribe(0)
	defer cancel()
	if _, err := e.eng.Start(context.Background(), qrRequest("mqr-abort", 1999)); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ch, func(ev agent.Event) bool { return ev.Payment == "mqr-abort" && ev.State == agent.StateOnline })
	time.Sleep(100 * time.Millisecond)
	p, err := e.eng.Abort(context.Background(), "mqr-abort")
	if err != nil {
		t.Fatal(err)
	}
	// Between two status requests (their round trip is well below the
	// 50 ms poll) or during one: both are safe endings.
	switch {
	case p.State == agent.StateAborted && p.Reason == agent.ReasonAborted && !p.Reversed:
	case p.State == agent.StateReversed && p.Reversed:
	default:
		t.Fatalf("abort: %+v", p)
	}
	if heldEntries(t, e, "mqr-abort") != 0 {
		t.Fatal("a reversal stays armed")
	}
	e.settle()
	if recs := e.records("mqr-abort"); len(recs["financial"]) != 0 {
		t.Fatalf("journal: %+v", recs)
	}
}

// TestMerchantQRAbortInFlight: the wallet pays while a status request is
// in flight (the acquirer answers it after 3 s) and the cashier aborts:
// the request may be the approval, so it is reversed, as a card's.
func TestMerchantQRAbortInFlight(t *testing.T) {
	e := qrEnv(t, 10*time.Second)
	ch, cancel := e.eng.Subscribe(0)
	defer cancel()
	p, err := e.eng.Start(context.Background(), qrRequest("mqr-slow", amtSlow))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ch, func(ev agent.Event) bool { return ev.Payment == "mqr-slow" && ev.State == agent.StateOnline })
	if _, err := e.srv.PayQR(p.QRPayload); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	p, err = e.eng.Abort(context.Background(), "mqr-slow")
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, p, agent.StateReversed, agent.ReasonAborted)
	if !p.Reversed {
		t.Fatal("Payment.Reversed not set")
	}
	e.settle()
	// The acquirer answers the request after 3 s; the reversal may reach
	// it before the approval is journalled: then no financial is
	// journalled, else it is the reversed one.
	time.Sleep(3500 * time.Millisecond)
	e.settle()
	recs := e.records("mqr-slow")
	if len(recs["reversal"]) != 1 || len(recs["wallet"]) != 1 || len(recs["financial"]) > 1 ||
		(len(recs["financial"]) == 1 && !recs["reversal"][0].ReversesApproved) {
		t.Fatalf("journal: %+v", recs)
	}
}

func TestMerchantQRAcquirerDown(t *testing.T) {
	e := qrEnv(t, 10*time.Second)
	e.down()
	p := e.pay("mqr-down", "", 1999, func(r *agent.PaymentRequest) { r.Method = agent.MethodQRMerchant })
	// Never approved offline, even within the floor limit.
	wantState(t, p, agent.StateDeclined, agent.ReasonAcquirerUnavailable)
	if heldEntries(t, e, "mqr-down") != 0 {
		t.Fatal("a reversal stays armed")
	}
}

func TestMerchantQRInvalid(t *testing.T) {
	e := qrEnv(t, time.Second)
	for _, c := range []struct {
		req   agent.PaymentRequest
		field string
	}{
		{qrRequest("a-payment-id-longer-than-25", 100), "id"},
		{agent.PaymentRequest{ID: "m1", Amount: 100, Currency: "EUR", Method: "wechat"}, "method"},
		{agent.PaymentRequest{ID: "m2", Amount: 100, Currency: "EUR", Method: agent.MethodQRMerchant, Capture: agent.CaptureManual}, "capture"},
		{agent.PaymentRequest{ID: "m3", Amount: 100, Currency: "EUR", Method: agent.MethodQRMerchant, Reader: "sim"}, "reader"},
	} {
		_, err := e.eng.Start(context.Background(), c.req)
		var ie *agent.InvalidError
		if !errors.As(err, &ie) || ie.Field != c.field {
			t.Fatalf("%+v: %v, want invalid %s", c.req, err, c.field)
		}
	}
	// Without merchant data no merchant-presented payment.
	plain := newEnv(t, envOpts{})
	if _, err := plain.eng.Start(context.Background(), qrRequest("m4", 100)); !errors.Is(err, agent.ErrInvalid) {
		t.Fatalf("unconfigured: %v", err)
	}
	// Idempotency: the same request returns the payment, a card request
	// with its id is a conflict.
	p := e.pay("m5", "", 100, func(r *agent.PaymentRequest) { r.Method = agent.MethodQRMerchant })
	again, err := e.eng.Start(context.Background(), agent.PaymentRequest{ID: "m5", Amount: 100, Currency: "EUR", Reference: "ref-m5", Method: agent.MethodQRMerchant})
	if err != nil || again.State != p.State {
		t.Fatalf("again: %v %v", again.State, err)
	}
	if _, err := e.eng.Start(context.Background(), agent.PaymentRequest{ID: "m5", Amount: 100, Currency: "EUR"}); !errors.Is(err, agent.ErrConflict) {
		t.Fatalf("card with the id: %v", err)
	}
}

// TestMerchantQRShutdown: Close does not wait for the wallet: the payment
// is stopped at once (aborted, or reversed if a request was in flight),
// with no reversal left armed after the restart.
func TestMerchantQRShutdown(t *testing.T) {
	e := qrEnv(t, time.Minute)
	ch, cancel := e.eng.Subscribe(0)
	if _, err := e.eng.Start(context.Background(), qrRequest("mqr-stop", 1999)); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ch, func(ev agent.Event) bool { return ev.Payment == "mqr-stop" && ev.State == agent.StateOnline })
	cancel()
	start := time.Now()
	e.reopen()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close waited %v", d)
	}
	p, err := e.eng.Get("mqr-stop")
	if err != nil {
		t.Fatal(err)
	}
	if p.Reason != agent.ReasonShutdown || (p.State != agent.StateAborted && p.State != agent.StateReversed) {
		t.Fatalf("after shutdown: %+v", p)
	}
	if heldEntries(t, e, "mqr-stop") != 0 {
		t.Fatal("a reversal stays armed")
	}
}

// TestCrashMerchantQR: a child process pays a merchant-presented code (the
// wallet has paid it already) and is killed with SIGKILL at a commit
// point; the restarted engine settles it as a card's online payment.
func TestCrashMerchantQR(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, c := range []struct {
		name, phase, op string
		state           agent.State
		financial       int
	}{
		{"showing the code, nothing asked yet", "after", "agent: waiting_for_card", agent.StateAborted, 0},
		{"armed, before the first status request left", "after", "agent: reversal", agent.StateReversed, 0},
		{"approved, before the final commit", "before", "agent: approved", agent.StateReversed, 1},
		{"after the final commit", "after", "agent: approved", agent.StateApproved, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			id := "qc-" + c.phase + "-" + strings.ReplaceAll(strings.TrimPrefix(c.op, "agent: "), "_", "")
			code, err := qr.DynamicPayload(qrMerchant, qr.Charge{Amount: 2200, Currency: "EUR", Reference: id, Terminal: emv.DefaultConfig().TerminalID})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.srv.PayQR(code); err != nil {
				t.Fatal(err)
			}
			e.crash(c.phase, c.op, "qrpay:"+id+":2200")
			p, err := e.eng.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if p.State != c.state || p.Reversed != (c.state == agent.StateReversed) || p.Receipt == nil {
				t.Fatalf("after the crash: %+v", p)
			}
			e.settle()
			recs := e.records(id)
			if len(recs["financial"]) != c.financial || len(recs["reversal"]) != map[bool]int{true: 1, false: 0}[c.state == agent.StateReversed] {
				t.Fatalf("journal: %+v", recs)
			}
			if c.financial == 1 && c.state == agent.StateReversed && !recs["reversal"][0].ReversesApproved {
				t.Fatalf("the reversal did not find the approval: %+v", recs)
			}
		})
	}
	e.t = t
}

// TestMerchantQRAcquirerBlip: the acquirer is unreachable for a while
// after the first status request; the terminal keeps asking and learns
// the wallet's payment once it is back.
func TestMerchantQRAcquirerBlip(t *testing.T) {
	e := newEnv(t, envOpts{tweak: func(c *agent.Config) {
		m := qrMerchant
		c.QRMerchant, c.QRPoll, c.QRTimeout = &m, 500*time.Millisecond, 20*time.Second
	}})
	ch, cancel := e.eng.Subscribe(0)
	defer cancel()
	p, err := e.eng.Start(context.Background(), qrRequest("mqr-blip", 1999))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ch, func(ev agent.Event) bool { return ev.Payment == "mqr-blip" && ev.State == agent.StateOnline })
	// Between two status requests: just after one was armed (and, ~1 ms
	// later, answered pending), well before the next.
	armed := func() int {
		e.mu.Lock()
		defer e.mu.Unlock()
		n := 0
		for _, c := range e.commits {
			if c.op == "agent: reversal" {
				n++
			}
		}
		return n
	}
	for n := armed(); armed() == n; {
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	e.down()
	time.Sleep(time.Second) // status requests find no acquirer
	if _, err := e.srv.PayQR(p.QRPayload); err != nil {
		t.Fatal(err)
	}
	e.up()
	ctx, stop := context.WithTimeout(context.Background(), 15*time.Second)
	defer stop()
	if p, err = e.eng.Wait(ctx, "mqr-blip"); err != nil {
		t.Fatal(err)
	}
	wantState(t, p, agent.StateApproved, "")
	if recs := e.records("mqr-blip"); len(recs["financial"]) != 1 || len(recs["reversal"]) != 0 {
		t.Fatalf("journal: %+v", recs)
	}
}
