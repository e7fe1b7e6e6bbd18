package agent_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"posagent/agent"
	"posagent/offline"
)

func TestVoidExactlyOnceAcrossRestart(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	wantState(t, e.pay("v1", "visa", amtOnline), agent.StateApproved, "")
	e.down() // the reversal waits in the queue
	before := e.ncommits()
	p, err := e.eng.Void(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, p, agent.StateVoided, "")
	if !p.Reversed {
		t.Fatal("voided without Reversed")
	}
	if n, ops := e.syncedSince(before); n != 1 {
		t.Fatalf("void cost %d fsyncs (%v), want 1 (state + reversal together)", n, ops)
	}
	again, err := e.eng.Void(ctx, "v1")
	if err != nil || again.State != agent.StateVoided {
		t.Fatalf("second void: %v %v", again.State, err)
	}
	e.reopen() // the reversal must survive the restart, encrypted in the queue
	e.up()
	e.settle()
	recs := e.records("v1")
	if len(recs["reversal"]) != 1 || !recs["reversal"][0].ReversesApproved || recs["reversal"][0].MTI[:3] != "042" {
		t.Fatalf("journal: %+v", recs)
	}
	if _, err := e.eng.Void(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	e.forward()
	if recs := e.records("v1"); len(recs["reversal"]) != 1 {
		t.Fatalf("void sent twice: %+v", recs)
	}
	// Only approved payments can be voided.
	wantState(t, e.pay("v2", "visa", amtDecline), agent.StateDeclined, agent.ReasonIssuerDeclined)
	if _, err := e.eng.Void(ctx, "v2"); !errors.Is(err, agent.ErrWrongState) {
		t.Fatalf("void of a decline: %v", err)
	}
	if _, err := e.eng.Void(ctx, "nope"); !errors.Is(err, agent.ErrNotFound) {
		t.Fatalf("void of nothing: %v", err)
	}
}

func TestVoidOfflineApprovalAfterForwarding(t *testing.T) {
	e := newEnv(t, envOpts{})
	wantState(t, e.pay("vo", "visa", amtOffline), agent.StateApprovedOffline, "")
	e.settle()
	p, err := e.eng.Void(context.Background(), "vo")
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, p, agent.StateVoided, "")
	e.settle()
	recs := e.records("vo")
	if len(recs["advice"]) != 1 || len(recs["reversal"]) != 1 || !recs["reversal"][0].ReversesApproved {
		t.Fatalf("journal: %+v", recs)
	}
}

func TestPreAuthCapture(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	manual := func(r *agent.PaymentRequest) { r.Capture = agent.CaptureManual }
	// Within the floor limit, a pre-authorisation still goes online.
	p := e.pay("pa", "visa", amtOffline, manual)
	wantState(t, p, agent.StateApproved, "")
	if p.Kind != agent.KindPreAuth {
		t.Fatalf("kind %s", p.Kind)
	}
	if _, err := e.eng.Capture(ctx, "pa", amtOffline+1); !errors.Is(err, agent.ErrInvalid) {
		t.Fatalf("capture above the authorised amount: %v", err)
	}
	c, err := e.eng.Capture(ctx, "pa", 1200)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, c, agent.StateCaptured, "")
	if c.Captured != 1200 {
		t.Fatalf("captured %d", c.Captured)
	}
	if again, err := e.eng.Capture(ctx, "pa", 1200); err != nil || again.State != agent.StateCaptured {
		t.Fatalf("repeat capture: %v %v", again.State, err)
	}
	if _, err := e.eng.Capture(ctx, "pa", 1000); !errors.Is(err, agent.ErrWrongState) {
		t.Fatalf("second capture: %v", err)
	}
	e.settle()
	recs := e.records("pa")
	if len(recs["auth"]) != 1 || len(recs["advice"]) != 1 || recs["advice"][0].Amount != 1200 {
		t.Fatalf("journal: %+v", recs)
	}
	// A purchase cannot be captured.
	wantState(t, e.pay("pp", "visa", amtOnline), agent.StateApproved, "")
	if _, err := e.eng.Capture(ctx, "pp", 100); !errors.Is(err, agent.ErrWrongState) {
		t.Fatalf("capture of a purchase: %v", err)
	}
}

func TestPreAuthAutoVoid(t *testing.T) {
	e := newEnv(t, envOpts{tweak: func(c *agent.Config) {
		c.PreAuthExpiry, c.PreAuthCheck = 300*time.Millisecond, 50*time.Millisecond
	}})
	p := e.pay("auto", "visa", amtOnline, func(r *agent.PaymentRequest) { r.Capture = agent.CaptureManual })
	wantState(t, p, agent.StateApproved, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := e.eng.Get("auto")
		if err != nil {
			t.Fatal(err)
		}
		if got.State == agent.StateVoided {
			if !strings.Contains(got.Message, "automatically") {
				t.Fatalf("message %q", got.Message)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not voided: %s", got.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.settle()
	if recs := e.records("auto"); len(recs["auth"]) != 1 || len(recs["reversal"]) != 1 {
		t.Fatalf("journal: %+v", recs)
	}
}

func TestRefund(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	wantState(t, e.pay("orig", "mastercard", amtOnline), agent.StateApproved, "")
	r, err := e.eng.Refund(ctx, agent.RefundRequest{ID: "ref-1", PaymentID: "orig", Amount: 1000})
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r, agent.StateRefunded, "")
	if r.Kind != agent.KindRefund || r.PaymentID != "orig" || r.MaskedPAN == "" {
		t.Fatalf("refund: %+v", r)
	}
	o, _ := e.eng.Get("orig")
	if o.Refunded != 1000 {
		t.Fatalf("refunded %d", o.Refunded)
	}
	if again, err := e.eng.Refund(ctx, agent.RefundRequest{ID: "ref-1", PaymentID: "orig", Amount: 1000}); err != nil || again.State != agent.StateRefunded {
		t.Fatalf("repeat: %v %v", again.State, err)
	}
	if _, err := e.eng.Refund(ctx, agent.RefundRequest{ID: "ref-1", PaymentID: "orig", Amount: 900}); !errors.Is(err, agent.ErrConflict) {
		t.Fatalf("same id, other amount: %v", err)
	}
	if _, err := e.eng.Refund(ctx, agent.RefundRequest{ID: "ref-2", PaymentID: "orig", Amount: 1501}); !errors.Is(err, agent.ErrInvalid) {
		t.Fatalf("refund above what is left: %v", err)
	}
	if _, err := e.eng.Void(ctx, "orig"); !errors.Is(err, agent.ErrWrongState) {
		t.Fatalf("void of a refunded payment: %v", err)
	}
	recs := e.records("ref-1")
	if len(recs["refund"]) != 1 || recs["refund"][0].Amount != 1000 {
		t.Fatalf("journal: %+v", recs)
	}
	e.down()
	r2, err := e.eng.Refund(ctx, agent.RefundRequest{ID: "ref-3", PaymentID: "orig", Amount: 500})
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, r2, agent.StateDeclined, agent.ReasonAcquirerUnavailable)
}

func TestTotals(t *testing.T) {
	e := newEnv(t, envOpts{})
	since := time.Now().Add(-time.Second)
	e.pay("t1", "visa", amtOnline)
	e.pay("t2", "visa", amtOffline)
	e.pay("t3", "visa", amtDecline)
	e.pay("t4", "unionpay", amtOnline)
	if _, err := e.eng.Refund(context.Background(), agent.RefundRequest{ID: "t5", PaymentID: "t1", Amount: 500}); err != nil {
		t.Fatal(err)
	}
	tot, err := e.eng.Totals(since)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range tot.Rows {
		count[string(r.State)+"/"+r.Scheme] += r.Count
	}
	if count["approved/visa"] != 1 || count["approved_offline/visa"] != 1 || count["declined/visa"] != 1 ||
		count["approved/unionpay"] != 1 || count["refunded/visa"] != 1 {
		t.Fatalf("rows: %+v", tot.Rows)
	}
	if want := int64(amtOnline + amtOffline + amtOnline - 500); tot.Net["EUR"] != want {
		t.Fatalf("net %d, want %d", tot.Net["EUR"], want)
	}
	later, _ := e.eng.Totals(time.Now().Add(time.Hour))
	if len(later.Rows) != 0 {
		t.Fatalf("totals after the cut-off: %+v", later.Rows)
	}
	list, _ := e.eng.List(since, 2)
	if len(list) != 2 || list[0].ID != "t1" {
		t.Fatalf("list: %d", len(list))
	}
}

func TestEventsReplayAndIDsAcrossRestart(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.pay("ev1", "visa", amtOnline)
	ch, cancel := e.eng.Subscribe(0)
	var seen []agent.Event
	for len(seen) == 0 || seen[len(seen)-1].Prompt != agent.PromptApproved {
		seen = append(seen, waitEvent(t, ch, func(agent.Event) bool { return true }))
	}
	cancel()
	prompts := map[string]bool{}
	for i, ev := range seen {
		if i > 0 && ev.ID <= seen[i-1].ID {
			t.Fatalf("ids not increasing: %d after %d", ev.ID, seen[i-1].ID)
		}
		prompts[ev.Prompt] = true
	}
	for _, p := range []string{agent.PromptPresentCard, agent.PromptRemoveCard, agent.PromptProcessing, agent.PromptApproved} {
		if !prompts[p] {
			t.Fatalf("prompt %s not seen in %+v", p, seen)
		}
	}
	last := seen[len(seen)-1].ID
	// Replay after an id gives only what followed it.
	ch, cancel = e.eng.Subscribe(seen[1].ID)
	if ev := waitEvent(t, ch, func(agent.Event) bool { return true }); ev.ID != seen[2].ID {
		t.Fatalf("replay from %d started at %d", seen[1].ID, ev.ID)
	}
	cancel()
	e.reopen()
	ch, cancel = e.eng.Subscribe(0)
	defer cancel()
	e.pay("ev2", "visa", amtOnline)
	ev := waitEvent(t, ch, func(ev agent.Event) bool { return ev.Payment == "ev2" })
	if ev.ID <= last {
		t.Fatalf("after a restart event id %d, not above %d", ev.ID, last)
	}
}

func TestPresentCardAgain(t *testing.T) {
	e := newEnv(t, envOpts{})
	ch, cancel := e.eng.Subscribe(0)
	defer cancel()
	// The card leaves the field after its GPO: the cashier is asked to
	// present it again; presented again it completes.
	e.reader.Present("removed")
	e.reader.Present("removed")
	p := e.pay("again", "", amtOnline)
	wantState(t, p, agent.StateApproved, "")
	waitEvent(t, ch, func(ev agent.Event) bool { return ev.Payment == "again" && ev.Prompt == agent.PromptPresentCardAgain })
}

func TestCardTimeout(t *testing.T) {
	e := newEnv(t, envOpts{tweak: func(c *agent.Config) { c.CardTimeout = 200 * time.Millisecond }})
	p := e.pay("slowpoke", "", amtOnline)
	wantState(t, p, agent.StateAborted, agent.ReasonTimeout)
}

// scanner is an input that reads the codes put into it.
type scanner struct{ codes chan string }

func (s *scanner) Name() string { return "scanner" }

func (s *scanner) Scan(ctx context.Context) (string, error) {
	select {
	case c := <-s.codes:
		return c, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func TestQRConsumerPresented(t *testing.T) {
	sc := &scanner{codes: make(chan string, 1)}
	e := newEnv(t, envOpts{tweak: func(c *agent.Config) {
		c.Scanners = []agent.Scanner{sc}
		c.ClassifyQR = func(code string) (string, error) {
			if len(code) == 18 && code[0] == '1' && code[1] >= '0' && code[1] <= '5' {
				return "wechat", nil
			}
			return "", errors.New("not a known payment code")
		}
	}})
	ch, cancel := e.eng.Subscribe(0)
	defer cancel()
	sc.codes <- "134567890123456789"
	p := e.pay("qr1", "", amtOnline, func(r *agent.PaymentRequest) { r.Reader = "scanner" })
	waitEvent(t, ch, func(ev agent.Event) bool { return ev.Payment == "qr1" && ev.Prompt == agent.PromptScanCode })
	wantState(t, p, agent.StateApproved, "")
	if p.EntryMode != "qr_consumer" || p.Scheme != "wechat" {
		t.Fatalf("qr payment: %+v", p)
	}
	recs := e.records("qr1")
	if len(recs["financial"]) != 1 {
		t.Fatalf("journal: %+v", recs)
	}
	sc.codes <- "hello world"
	wantState(t, e.pay("qr2", "", amtOnline, func(r *agent.PaymentRequest) { r.Reader = "scanner" }), agent.StateDeclined, agent.ReasonQRUnsupported)
	// QR is online only.
	e.down()
	sc.codes <- "134567890123456789"
	wantState(t, e.pay("qr3", "", amtOffline, func(r *agent.PaymentRequest) { r.Reader = "scanner" }), agent.StateDeclined, agent.ReasonAcquirerUnavailable)
}

func TestQueueStatus(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.down()
	e.pay("q1", "visa", amtOffline)
	entries, err := e.eng.QueueEntries()
	if err != nil || len(entries) != 1 || entries[0].Kind != string(offline.KindAdvice) || entries[0].Currency != "EUR" {
		t.Fatalf("entries %+v %v", entries, err)
	}
	st := e.eng.Status()
	if len(st.Readers) != 1 || st.Readers[0].Name != "simulated" || st.Queue.Outstanding["EUR"] != amtOffline {
		t.Fatalf("status %+v", st)
	}
}

func TestIssuerDeclinesOfflineApprovalLater(t *testing.T) {
	e := newEnv(t, envOpts{})
	ch, cancel := e.eng.Subscribe(0)
	defer cancel()
	wantState(t, e.pay("later", "visa", 1400), agent.StateApprovedOffline, "")
	e.settle()
	ev := waitEvent(t, ch, func(ev agent.Event) bool { return ev.Type == agent.EventDeclinedOffline })
	if ev.Payment != "later" || ev.Amount != 1400 || ev.Currency != "EUR" {
		t.Fatalf("event %+v", ev)
	}
	p, _ := e.eng.Get("later")
	if !p.DeclinedLater || p.State != agent.StateApprovedOffline {
		t.Fatalf("payment %+v", p)
	}
}

func TestTryAnotherInterfaceIsAPrompt(t *testing.T) {
	e := newEnv(t, envOpts{})
	ch, cancel := e.eng.Subscribe(0)
	defer cancel()
	// Above the contactless transaction limit the kernel asks for another
	// interface: the cashier is prompted and the payment waits for a card
	// again, until the attempts are used up.
	for range 3 {
		e.reader.Present("visa")
	}
	p := e.pay("tai", "", 1000001)
	wantState(t, p, agent.StateDeclined, agent.ReasonTryAnotherInterface)
	n := 0
	for n < 2 {
		waitEvent(t, ch, func(ev agent.Event) bool { return ev.Payment == "tai" && ev.Prompt == agent.PromptTryAnotherInterface })
		n++
	}
}
