package agent_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"posagent/agent"
	"posagent/agent/input/sim"
	"posagent/emv"
	"posagent/offline"
)

func TestCloseAbortsWaitingAndFinishesOnline(t *testing.T) {
	second, err := sim.New(sim.Options{Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpts{tweak: func(c *agent.Config) { c.Readers = append(c.Readers, second) }})
	ctx := context.Background()
	ch, cancel := e.eng.Subscribe(0)
	defer cancel()
	// One payment waits for a card on the second reader, one is online
	// (the acquirer answers after 1 s) on the first.
	if _, err := e.eng.Start(ctx, agent.PaymentRequest{ID: "cl-wait", Amount: amtOnline, Currency: "EUR", Reader: "second"}); err != nil {
		t.Fatal(err)
	}
	e.reader.Present("visa")
	if _, err := e.eng.Start(ctx, agent.PaymentRequest{ID: "cl-online", Amount: amtLagging, Currency: "EUR", Reader: "simulated"}); err != nil {
		t.Fatal(err)
	}
	// Busy is per reader: the same reader again is refused.
	if _, err := e.eng.Start(ctx, agent.PaymentRequest{ID: "cl-3", Amount: 100, Currency: "EUR", Reader: "second"}); !errors.Is(err, agent.ErrBusy) {
		t.Fatalf("same reader: %v", err)
	}
	waitEvent(t, ch, func(ev agent.Event) bool { return ev.Payment == "cl-online" && ev.State == agent.StateOnline })
	cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
	defer ccancel()
	if err := e.eng.Close(cctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.Start(ctx, agent.PaymentRequest{ID: "late", Amount: 100, Currency: "EUR"}); !errors.Is(err, agent.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	e.eng = nil
	e.open()
	w, _ := e.eng.Get("cl-wait")
	wantState(t, w, agent.StateAborted, agent.ReasonShutdown)
	o, _ := e.eng.Get("cl-online")
	wantState(t, o, agent.StateApproved, "")
}

func TestSecondEngineOnTheSameFileFails(t *testing.T) {
	e := newEnv(t, envOpts{})
	cfg := e.cfg
	cfg.Store.OpenTimeout = -1
	start := time.Now()
	_, err := agent.Open(cfg)
	if !errors.Is(err, offline.ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("second Open took %v", d)
	}
}

func TestReaderFreeWhileOnline(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	ch, cancel := e.eng.Subscribe(0)
	defer cancel()
	e.reader.Present("visa")
	if _, err := e.eng.Start(ctx, agent.PaymentRequest{ID: "fr-1", Amount: amtLagging, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, ch, func(ev agent.Event) bool { return ev.Payment == "fr-1" && ev.State == agent.StateOnline })
	// The card was read: the reader takes the next payment meanwhile.
	p2 := e.pay("fr-2", "mastercard", amtOnline)
	wantState(t, p2, agent.StateApproved, "")
	p1, _ := e.eng.Wait(ctx, "fr-1")
	wantState(t, p1, agent.StateApproved, "")
	if st := e.eng.Status(); st.Readers[0].Payment != "" {
		t.Fatalf("reader still busy: %+v", st.Readers)
	}
}

// observer records what the engine measures.
type observer struct {
	mu     sync.Mutex
	taps   int
	online []string
	final  []agent.State
	uplink []bool
}

func (o *observer) Tap(string, time.Duration, emv.Report) { o.mu.Lock(); o.taps++; o.mu.Unlock() }
func (o *observer) Online(_ time.Duration, r string) {
	o.mu.Lock()
	o.online = append(o.online, r)
	o.mu.Unlock()
}
func (o *observer) Final(p agent.Payment) {
	o.mu.Lock()
	o.final = append(o.final, p.State)
	o.mu.Unlock()
}
func (o *observer) Uplink(up bool) { o.mu.Lock(); o.uplink = append(o.uplink, up); o.mu.Unlock() }

func TestObserver(t *testing.T) {
	obs := &observer{}
	e := newEnv(t, envOpts{tweak: func(c *agent.Config) { c.Observer = obs }})
	lastUplink := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			obs.mu.Lock()
			ok := len(obs.uplink) > 0 && obs.uplink[len(obs.uplink)-1] == want
			obs.mu.Unlock()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("observer never told uplink up=%v", want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	lastUplink(true)
	e.pay("o1", "visa", amtOnline)
	e.pay("o2", "visa", amtDecline)
	e.down()
	lastUplink(false)
	e.pay("o3", "visa", 4500)
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.taps != 3 || len(obs.online) != 3 || obs.online[0] != "approved" || obs.online[1] != "declined" || obs.online[2] != "unavailable" {
		t.Fatalf("taps %d online %v", obs.taps, obs.online)
	}
	if len(obs.final) != 3 || obs.final[0] != agent.StateApproved || obs.final[2] != agent.StateDeclined {
		t.Fatalf("final %v", obs.final)
	}
}

// brokenReader breaks the Reader contract or fails.
type brokenReader struct{ err error }

func (b brokenReader) Name() string { return "broken" }
func (b brokenReader) WaitCard(context.Context, int64) (agent.CardSession, error) {
	return nil, b.err
}

func TestBrokenReaderFailsThePayment(t *testing.T) {
	for name, err := range map[string]error{"nil session": nil, "reader error": errors.New("reader unplugged")} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOpts{tweak: func(c *agent.Config) { c.Readers = []agent.Reader{brokenReader{err}} }})
			p := e.pay("broken", "", amtOnline)
			wantState(t, p, agent.StateFailed, agent.ReasonCardError)
		})
	}
}
