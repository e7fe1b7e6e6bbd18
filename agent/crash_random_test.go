package agent_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"posagent/agent"
	"posagent/uplink/acqsim"
)

// TestCrashRandom runs payments in child processes killed at random commit
// points while the acquirer flips between up and down, restarting the
// engine each time. At the end, after forwarding: every payment the engine
// reports approved reached the acquirer exactly once and was not
// reversed, every request reversed or not recorded was reversed at the
// acquirer exactly once, and the acquirer's net equals the engine's.
func TestCrashRandom(t *testing.T) {
	n := 16
	if testing.Short() {
		n = 6
	}
	if v, err := strconv.Atoi(os.Getenv("AGENT_CRASH_N")); err == nil {
		n = v
	}
	seed := rand.Uint64()
	if v, err := strconv.ParseUint(os.Getenv("AGENT_CRASH_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (AGENT_CRASH_SEED to repeat, AGENT_CRASH_N for more payments)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	points := []struct{ phase, op string }{
		{"", ""}, {"", ""},
		{"after", "agent: reading"}, {"after", "agent: reversal"}, {"before", "agent: approved"},
		{"after", "agent: approved"}, {"before", "agent: declined"}, {"before", "agent: advice"},
		{"after", "agent: advice"}, {"before", "agent: recover"},
	}
	amounts := []int64{amtOnline, amtOnline, amtOffline, 3000, amtDecline, 4500}
	e := newEnv(t, envOpts{})
	e.maybe = true
	var ids []string
	for i := range n {
		if rng.IntN(3) == 0 {
			e.srv.SetFault(acqsim.Fault{Kind: acqsim.FaultDown})
			e.srv.DropConnections()
			e.acqDown = true
		} else {
			e.srv.SetFault(acqsim.Fault{})
			e.acqDown = false
		}
		pt := points[rng.IntN(len(points))]
		id := fmt.Sprintf("r%d", i)
		ids = append(ids, id)
		amount := amounts[rng.IntN(len(amounts))]
		e.t = t
		if pt.op == "agent: recover" {
			// A crash during the restart's own recovery: the next
			// restart must still settle everything.
			e.crash("after", "agent: approved", fmt.Sprintf("pay:%s:visa:%d", id, amount))
			e.eng.Close(t.Context())
			e.eng = nil
			e.crash("before", "agent: recover", "pay:unused::1")
			continue
		}
		e.crash(pt.phase, pt.op, fmt.Sprintf("pay:%s:visa:%d", id, amount))
	}
	e.up()
	e.settle()
	var net int64
	for _, id := range ids {
		p, err := e.eng.Get(id)
		if err != nil {
			if e.records(id)["financial"] != nil {
				t.Fatalf("%s: unknown to the engine but journalled", id)
			}
			continue // killed before it was created
		}
		if !p.State.Final() {
			t.Fatalf("%s: %s after recovery", id, p.State)
		}
		recs := e.records(id)
		approvedFin := 0
		for _, r := range recs["financial"] {
			if r.ResponseCode == "00" {
				approvedFin++
			}
		}
		switch p.State {
		case agent.StateApproved:
			if approvedFin != 1 || len(recs["reversal"]) != 0 {
				t.Fatalf("%s approved: journal %+v", id, recs)
			}
			net += p.Amount
		case agent.StateApprovedOffline:
			if len(recs["advice"]) != 1 || approvedFin != 0 {
				t.Fatalf("%s approved offline: journal %+v", id, recs)
			}
			net += p.Amount
		case agent.StateReversed:
			if len(recs["reversal"]) != 1 {
				t.Fatalf("%s reversed: journal %+v", id, recs)
			}
		default:
			if approvedFin > 0 && len(recs["reversal"]) != 1 {
				t.Fatalf("%s %s: charged at the acquirer without a reversal: %+v", id, p.State, recs)
			}
			if len(recs["advice"]) != 0 {
				t.Fatalf("%s %s: an advice reached the acquirer: %+v", id, p.State, recs)
			}
		}
		if len(recs["reversal"]) > 1 || len(recs["advice"]) > 1 || len(recs["financial"]) > 1 {
			t.Fatalf("%s: sent twice: %+v", id, recs)
		}
	}
	tot, err := acqsim.ReadTotals(e.journalPath)
	if err != nil {
		t.Fatal(err)
	}
	if tot.Net["978"] != net {
		t.Fatalf("acquirer net %d, engine approved %d", tot.Net["978"], net)
	}
}
