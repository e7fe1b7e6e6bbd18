package agent_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"posagent/agent"
	"posagent/offline"
)

func TestPurchaseOnlineApproved(t *testing.T) {
	e := newEnv(t, envOpts{})
	before := e.ncommits()
	p := e.pay("p-online", "visa", amtOnline)
	wantState(t, p, agent.StateApproved, "")
	if p.AuthCode == "" || p.Response != "00" || p.STAN == "" || p.RRN == "" {
		t.Fatalf("online answer not recorded: %+v", p)
	}
	if p.MaskedPAN == "" || strings.Count(p.MaskedPAN, "*") == 0 || p.Scheme != "visa" || p.AID == "" || p.EntryMode != "contactless" {
		t.Fatalf("card facts: %+v", p)
	}
	var states []agent.State
	for _, s := range p.History {
		states = append(states, s.State)
	}
	want := []agent.State{agent.StateCreated, agent.StateWaitingForCard, agent.StateReading, agent.StateOnline, agent.StateApproved}
	if len(states) != len(want) {
		t.Fatalf("history %v, want %v", states, want)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Fatalf("history %v, want %v", states, want)
		}
	}
	// Two fsyncs: the request armed (state online + held reversal), the
	// final state (approved + reversal cancelled + kept record).
	n, ops := e.syncedSince(before)
	if n > 2 {
		t.Fatalf("online payment cost %d fsyncs (%v), want <= 2", n, ops)
	}
	if n != 2 {
		t.Fatalf("online payment: %d fsyncs (%v): the arming or the final commit is missing", n, ops)
	}
	recs := e.records("p-online")
	if len(recs["financial"]) != 1 || recs["financial"][0].ResponseCode != "00" {
		t.Fatalf("journal: %+v", recs)
	}
	// No reversal left: the held one was cancelled in the final commit.
	entries, err := e.eng.QueueEntries()
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.Payment == "p-online" {
			t.Fatalf("queue entry left for an approved payment: %+v", en)
		}
	}
	r := strings.Join(p.Receipt.Customer, "\n")
	for _, want := range []string{"APPROVED", "25.00 EUR", p.MaskedPAN, "VISA", "POSAGT01", "CUSTOMER COPY", p.AuthCode} {
		if !strings.Contains(r, want) {
			t.Fatalf("customer receipt lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r, "4761739001010010") {
		t.Fatal("receipt shows a clear PAN")
	}
	got, err := e.eng.Get("p-online")
	if err != nil || got.State != agent.StateApproved {
		t.Fatalf("Get: %v %v", got.State, err)
	}
}

func TestPurchaseIssuerDeclined(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.pay("p-decl", "visa", amtDecline)
	wantState(t, p, agent.StateDeclined, agent.ReasonIssuerDeclined)
	if p.Response != "51" {
		t.Fatalf("response %q", p.Response)
	}
	if recs := e.records("p-decl"); len(recs["financial"]) != 1 || len(recs["reversal"]) != 0 {
		t.Fatalf("journal: %+v", recs)
	}
}

func TestPurchaseCardDeclined(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.pay("p-card", "expired-card", amtOnline)
	wantState(t, p, agent.StateDeclined, agent.ReasonCardDeclined)
	if recs := e.records("p-card"); len(recs) != 0 {
		t.Fatalf("a card decline reached the acquirer: %+v", recs)
	}
}

func TestPurchaseHostileCard(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.pay("p-bad", "bad-tlv", amtOnline)
	wantState(t, p, agent.StateDeclined, agent.ReasonCardError)
}

func TestPurchaseCardApprovedOffline(t *testing.T) {
	e := newEnv(t, envOpts{})
	before := e.ncommits()
	p := e.pay("p-tc", "visa", amtOffline)
	wantState(t, p, agent.StateApprovedOffline, "")
	// One fsync: approved_offline and its advice in the same commit.
	if n, ops := e.syncedSince(before); n != 1 {
		t.Fatalf("offline approval cost %d fsyncs (%v), want 1", n, ops)
	}
	e.settle()
	recs := e.records("p-tc")
	if len(recs["advice"]) != 1 || len(recs["financial"]) != 0 {
		t.Fatalf("journal: %+v", recs)
	}
}

func TestAcquirerDownOfflineThenForwardedOnce(t *testing.T) {
	e := newEnv(t, envOpts{})
	ch, cancel := e.eng.Subscribe(0)
	defer cancel()
	e.down()
	// ARQC within the engine's floor limit: approved offline, advice queued.
	in := e.pay("down-in", "visa", 3000)
	wantState(t, in, agent.StateApprovedOffline, "")
	// Above the floor limit: declined, nothing queued.
	over := e.pay("down-over", "visa", 4500)
	wantState(t, over, agent.StateDeclined, agent.ReasonAcquirerUnavailable)
	// Offline denied for this request.
	deny := e.pay("down-deny", "visa", 3000, func(r *agent.PaymentRequest) { r.Offline = agent.OfflineDeny })
	wantState(t, deny, agent.StateDeclined, agent.ReasonAcquirerUnavailable)
	// A card that approves offline by itself, while down.
	tc := e.pay("down-tc", "mastercard", amtOffline)
	wantState(t, tc, agent.StateApprovedOffline, "")

	entries, err := e.eng.QueueEntries()
	if err != nil {
		t.Fatal(err)
	}
	advices := map[string]bool{}
	for _, en := range entries {
		if en.Kind == string(offline.KindAdvice) {
			advices[en.Payment] = true
		}
	}
	if !advices["down-in"] || !advices["down-tc"] || advices["down-over"] || advices["down-deny"] {
		t.Fatalf("queued advices: %v", advices)
	}
	if recs := readJournal(t, e.journalPath); len(recs) != 0 {
		t.Fatalf("the acquirer was down but journalled %d records", len(recs))
	}
	e.up()
	e.settle()
	for _, id := range []string{"down-in", "down-tc"} {
		recs := e.records(id)
		if len(recs["advice"]) != 1 || len(recs["advice-dup"]) != 0 || len(recs["financial"]) != 0 {
			t.Fatalf("%s: journal %+v, want exactly one advice", id, recs)
		}
	}
	for _, id := range []string{"down-over", "down-deny"} {
		if recs := e.records(id); len(recs) != 0 {
			t.Fatalf("%s reached the acquirer: %+v", id, recs)
		}
	}
	// Forwarding again sends nothing more.
	e.forward()
	if recs := e.records("down-in"); len(recs["advice"]) != 1 {
		t.Fatalf("forwarded twice: %+v", recs)
	}
	waitEvent(t, ch, func(ev agent.Event) bool {
		return ev.Type == agent.EventState && ev.Payment == "down-in" && ev.State == agent.StateApprovedOffline
	})
}

func TestNoAcquirerOfflineOrDecline(t *testing.T) {
	e := newEnv(t, envOpts{noAcquirer: true})
	wantState(t, e.pay("na-tc", "visa", amtOffline), agent.StateApprovedOffline, "")
	wantState(t, e.pay("na-in", "visa", 3000), agent.StateApprovedOffline, "")
	wantState(t, e.pay("na-over", "visa", 4500), agent.StateDeclined, agent.ReasonAcquirerUnavailable)
	st := e.eng.Status()
	if st.Uplink.Configured || st.Uplink.Up {
		t.Fatalf("status: %+v", st.Uplink)
	}
	if st.Queue.Outstanding["EUR"] != amtOffline+3000 {
		t.Fatalf("outstanding: %+v", st.Queue)
	}
}

func TestOfflineLimitDeclines(t *testing.T) {
	e := newEnv(t, envOpts{tweak: func(c *agent.Config) {
		c.Store.Limits = map[string]offline.Limit{"*": {PerTransaction: 5000, CardCount: 1}}
	}})
	e.down()
	wantState(t, e.pay("lim-1", "visa", 3000), agent.StateApprovedOffline, "")
	// The same card again: its per-card velocity (Store.CardKey) refuses.
	wantState(t, e.pay("lim-2", "visa", 3000), agent.StateDeclined, agent.ReasonOfflineLimit)
	// Another card is still fine.
	wantState(t, e.pay("lim-3", "unionpay", 3000), agent.StateApprovedOffline, "")
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.pay("idem", "visa", amtOnline)
	again := e.pay("idem", "", amtOnline)
	if again.State != p.State || again.AuthCode != p.AuthCode || again.Updated != p.Updated {
		t.Fatalf("same request: %+v, want the stored %+v", again, p)
	}
	_, err := e.eng.Pay(context.Background(), agent.PaymentRequest{ID: "idem", Amount: amtOnline + 1, Currency: "EUR", Reference: "ref-idem"})
	if !isErr(err, agent.ErrConflict) {
		t.Fatalf("different request: %v, want ErrConflict", err)
	}
	if recs := e.records("idem"); len(recs["financial"]) != 1 {
		t.Fatalf("journal: %+v", recs)
	}
}

func TestInvalidRequests(t *testing.T) {
	e := newEnv(t, envOpts{})
	for name, req := range map[string]agent.PaymentRequest{
		"no id":        {Amount: 100, Currency: "EUR"},
		"bad id":       {ID: "a b", Amount: 100, Currency: "EUR"},
		"zero":         {ID: "z", Amount: 0, Currency: "EUR"},
		"currency":     {ID: "c", Amount: 100, Currency: "QQQ"},
		"lower case":   {ID: "l", Amount: 100, Currency: "eur"},
		"policy":       {ID: "o", Amount: 100, Currency: "EUR", Offline: "maybe"},
		"capture":      {ID: "k", Amount: 100, Currency: "EUR", Capture: "later"},
		"reader":       {ID: "r", Amount: 100, Currency: "EUR", Reader: "nope"},
		"huge":         {ID: "h", Amount: 1e12, Currency: "EUR"},
		"numeric code": {ID: "n", Amount: 100, Currency: "978"},
	} {
		if _, err := e.eng.Start(context.Background(), req); !isErr(err, agent.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestBusyAndAbortBeforeSent(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	p1, err := e.eng.Start(ctx, agent.PaymentRequest{ID: "busy-1", Amount: amtOnline, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.eng.Start(ctx, agent.PaymentRequest{ID: "busy-2", Amount: amtOnline, Currency: "EUR"})
	var be *agent.BusyError
	if !isErr(err, agent.ErrBusy) || !asBusy(err, &be) || be.InFlight != p1.ID {
		t.Fatalf("second payment: %v, want busy naming %s", err, p1.ID)
	}
	p, err := e.eng.Abort(ctx, p1.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, p, agent.StateAborted, agent.ReasonAborted)
	if p.Reversed {
		t.Fatal("nothing left, yet reversed")
	}
	// The reader is free again.
	wantState(t, e.pay("busy-3", "visa", amtOnline), agent.StateApproved, "")
	if _, err := e.eng.Abort(ctx, "busy-3"); !isErr(err, agent.ErrWrongState) {
		t.Fatalf("abort of a final payment: %v", err)
	}
}

func TestAbortAfterRequestLeft(t *testing.T) {
	e := newEnv(t, envOpts{})
	ch, cancel := e.eng.Subscribe(0)
	defer cancel()
	e.reader.Present("visa")
	if _, err := e.eng.Start(context.Background(), agent.PaymentRequest{ID: "late", Amount: amtSlow, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ch, func(ev agent.Event) bool { return ev.Payment == "late" && ev.State == agent.StateOnline })
	p, err := e.eng.Abort(context.Background(), "late")
	if err != nil {
		t.Fatal(err)
	}
	wantState(t, p, agent.StateReversed, agent.ReasonAborted)
	if !p.Reversed {
		t.Fatal("Payment.Reversed not set")
	}
	e.settle()
	// The acquirer approved it (late) and got the reversal exactly once.
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs := e.records("late")
		if len(recs["financial"]) == 1 && len(recs["reversal"]) == 1 && recs["reversal"][0].ReversesApproved {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal: %+v", recs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestNoAnswerReversed(t *testing.T) {
	e := newEnv(t, envOpts{})
	p := e.pay("mute", "visa", amtNoAnswer)
	wantState(t, p, agent.StateReversed, agent.ReasonNoResponse)
	if !p.Reversed {
		t.Fatal("Reversed not set")
	}
	e.settle()
	recs := e.records("mute")
	if len(recs["financial"]) != 1 || len(recs["reversal"]) != 1 {
		t.Fatalf("journal: %+v", recs)
	}
}

func asBusy(err error, be **agent.BusyError) bool {
	for err != nil {
		if b, ok := err.(*agent.BusyError); ok {
			*be = b
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// TestStatePersistedBeforeVisible: every state event is for a state the
// file already holds.
func TestStatePersistedBeforeVisible(t *testing.T) {
	e := newEnv(t, envOpts{})
	ch, cancel := e.eng.Subscribe(0)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		for ev := range ch {
			if ev.Type != agent.EventState {
				continue
			}
			p, err := e.eng.Get(ev.Payment)
			if err != nil {
				done <- err
				return
			}
			found := false
			for _, s := range p.History {
				found = found || s.State == ev.State
			}
			if !found {
				done <- fmt.Errorf("event %s for %s before the file held it (history %+v)", ev.State, ev.Payment, p.History)
				return
			}
			if ev.State == agent.StateReversed {
				done <- nil
				return
			}
		}
	}()
	e.pay("pv1", "visa", amtOnline)
	e.pay("pv2", "visa", amtOffline)
	e.pay("pv3", "visa", amtDecline)
	e.pay("pv4", "visa", amtNoAnswer)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("events not seen")
	}
}

func TestSyncAllStates(t *testing.T) {
	e := newEnv(t, envOpts{tweak: func(c *agent.Config) { c.SyncAllStates = true }})
	before := e.ncommits()
	e.pay("sync", "visa", amtOnline)
	// created, waiting_for_card, reading, online (armed), approved.
	if n, ops := e.syncedSince(before); n != 5 {
		t.Fatalf("%d fsyncs (%v), want 5", n, ops)
	}
}
