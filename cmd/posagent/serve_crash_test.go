package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posagent/agent"
	"posagent/agent/api"
	"posagent/agent/config"
	"posagent/uplink/acqsim"
)

// crashOutcome is what the cashier was told about one payment.
type crashOutcome struct {
	id       string
	amount   int64
	answered bool
	state    agent.State
}

// TestServeCrash kills `posagent serve` with SIGKILL at random points
// during payments (online and offline mixed, the acquirer simulator going
// down and up), restarts it each time, and checks at the end against the
// acquirer's journal: every payment the cashier was told approved reached
// the acquirer exactly once, none was charged twice, every request left
// unanswered was reversed (at most one reversal counted), and
// GET /v1/payments/{id} agrees with the journal for every id.
func TestServeCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes")
	}
	n := 50
	if s := os.Getenv("POSAGENT_CRASH_PAYMENTS"); s != "" {
		fmt.Sscan(s, &n)
	}
	e := newServeEnv(t, "")
	cfg := e.config()
	token := func() string {
		b, err := os.ReadFile(filepath.Join(cfg.KeyDir, config.APITokenName))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	child := e.startChild(t)
	t.Cleanup(func() { child.kill() })
	client := func() *api.Client {
		return &api.Client{BaseURL: "http://" + cfg.API.Listen, Token: token(), HTTP: &http.Client{Timeout: 15 * time.Second}}
	}
	c := client()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 8))
	seed := rng.Uint64()
	rng = rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	amounts := []int64{1000, serveOffline, serveSlowish, serveSlowish, 4500, serveDecline, 2200}
	acqUp := true
	kills := 0
	var outs []crashOutcome
	for i := 0; i < n; i++ {
		if rng.IntN(4) == 0 {
			acqUp = !acqUp
			if acqUp {
				e.srv.SetFault(acqsim.Fault{})
			} else {
				e.srv.SetFault(acqsim.Fault{Kind: acqsim.FaultDown})
				e.srv.DropConnections()
			}
		}
		o := crashOutcome{id: fmt.Sprintf("crash-%03d", i), amount: amounts[rng.IntN(len(amounts))]}
		killAt := time.Duration(-1)
		if rng.IntN(2) == 0 {
			killAt = time.Duration(rng.IntN(120)) * time.Millisecond
		}
		type answer struct {
			p   agent.Payment
			err error
		}
		ans := make(chan answer, 1)
		go func() {
			p, err := c.Pay(context.Background(), api.PaymentBody{ID: o.id, Amount: o.amount, Currency: "EUR"})
			ans <- answer{p, err}
		}()
		var a answer
		killed := false
		if killAt >= 0 {
			// Killed while the payment runs, or right after its answer when
			// it was quicker than killAt.
			select {
			case a = <-ans:
			case <-time.After(killAt):
			}
			child.kill()
			kills, killed = kills+1, true
			if a.err == nil && a.p.ID == "" {
				a = <-ans
			}
		} else {
			a = <-ans
		}
		if a.err == nil && a.p.State.Final() {
			o.answered, o.state = true, a.p.State
		} else if a.err != nil {
			var ae *api.Error
			if errors.As(a.err, &ae) {
				t.Fatalf("payment %s: API error %v", o.id, a.err)
			}
		}
		outs = append(outs, o)
		if killed {
			child = e.startChild(t)
			c = client()
		}
	}
	// The end of the day: acquirer up, the queue drained.
	e.srv.SetFault(acqsim.Fault{})
	e.waitUplink(c, true)
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.Forward(ctx)
		st, err := c.Status(ctx)
		if err == nil && st.Queue.ByState["pending"]+st.Queue.ByState["held"]+st.Queue.ByState["in-flight"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %+v %v", st.Queue, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	recs, err := acqsim.ReadJournal(e.journalPath)
	if err != nil {
		t.Fatal(err)
	}
	type tally struct{ requests, financial, advice, reversal, reversesApproved int }
	byID := map[string]*tally{}
	for _, r := range recs {
		if r.Duplicate {
			continue
		}
		tl := byID[r.TransactionID]
		if tl == nil {
			tl = &tally{}
			byID[r.TransactionID] = tl
		}
		switch r.Kind {
		case acqsim.KindFinancial, acqsim.KindAuth:
			tl.requests++
			if approvedRC(r.ResponseCode) {
				tl.financial++
			}
		case acqsim.KindAdvice:
			if approvedRC(r.ResponseCode) {
				tl.advice++
			}
		case acqsim.KindReversal:
			tl.reversal++
			if r.ReversesApproved {
				tl.reversesApproved++
			}
		}
	}
	told, unanswered := map[agent.State]int{}, map[agent.State]int{}
	for _, o := range outs {
		tl := byID[o.id]
		if tl == nil {
			tl = &tally{}
		}
		charged := tl.financial + tl.advice - tl.reversesApproved
		p, err := c.Get(ctx, o.id)
		if errors.Is(err, agent.ErrNotFound) {
			// Killed before the payment was stored: the cashier heard nothing.
			if o.answered || charged != 0 {
				t.Errorf("%s: not stored, but answered %v / charged %d", o.id, o.answered, charged)
			}
			continue
		}
		if err != nil {
			t.Fatalf("GET %s: %v", o.id, err)
		}
		if !p.State.Final() {
			t.Errorf("%s: still %s after the day", o.id, p.State)
		}
		if !o.answered {
			unanswered[p.State]++
			// The cashier heard nothing (the process died): whatever the
			// payment became, the journal agrees (checked below); one that
			// was reversed after its request reached the acquirer was
			// reversed once.
			if p.State == agent.StateReversed && tl.requests > 0 && tl.reversal != 1 {
				t.Errorf("%s: unanswered and reversed, %d reversals reached the acquirer", o.id, tl.reversal)
			}
		}
		if o.answered {
			told[o.state]++
			if p.State != o.state && !(o.state == agent.StateApprovedOffline && p.State == agent.StateApprovedOffline) {
				t.Errorf("%s: cashier told %s, GET says %s", o.id, o.state, p.State)
			}
		}
		approved := p.State == agent.StateApproved || p.State == agent.StateApprovedOffline
		switch {
		case charged < 0 || charged > 1:
			t.Errorf("%s: charged %d times (%+v)", o.id, charged, *tl)
		case approved && charged != 1 && !p.DeclinedLater:
			t.Errorf("%s: %s but charged %d times (%+v)", o.id, p.State, charged, *tl)
		case !approved && charged != 0:
			t.Errorf("%s: %s but charged %d times (%+v)", o.id, p.State, charged, *tl)
		}
		if tl.reversal > 1 {
			t.Errorf("%s: %d reversals reached the acquirer", o.id, tl.reversal)
		}
		if p.State == agent.StateReversed && tl.financial > 0 && tl.reversesApproved != 1 {
			t.Errorf("%s: reversed, approved by the acquirer, but %d reversal(s) of it", o.id, tl.reversesApproved)
		}
		if o.answered && (o.state == agent.StateApproved || o.state == agent.StateApprovedOffline) && charged != 1 {
			t.Errorf("%s: the cashier was told %s, the acquirer has it %d times", o.id, o.state, charged)
		}
	}
	t.Logf("%d payments, %d kills; cashier told %v; unanswered ended %v; journal %d records", len(outs), kills, told, unanswered, len(recs))
	if kills < n/4 {
		t.Errorf("only %d kills in %d payments", kills, n)
	}
}

func approvedRC(rc string) bool { return rc == "00" || rc == "08" || rc == "11" }
