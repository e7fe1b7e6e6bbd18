package agent_test

// Crash tests: a child process (this test binary, re-executed) runs the
// engine on the harness's file and kills itself with SIGKILL at a commit
// point (just before or just after a named commit); the parent reopens the
// engine on the same file and checks what the cashier would see and what
// the acquirer simulator journalled.

import (
	"context"

	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"posagent/agent"
	"posagent/agent/input/sim"
)

const (
	envChild = "AGENT_CRASH_CHILD" // "dir|addr|phase|op|action"
	envMaybe = "AGENT_CRASH_MAYBE" // set: a child whose kill point is not reached exits cleanly
)

// TestCrashChild is the child side; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	spec := os.Getenv(envChild)
	if spec == "" {
		t.Skip("only run as the child of a crash test")
	}
	f := strings.SplitN(spec, "|", 5)
	dir, addr, phase, op, action := f[0], f[1], f[2], f[3], f[4]
	reader, err := sim.New(sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := harnessConfig(t, dir, addr, reader, true)
	m := qrMerchant
	cfg.QRMerchant, cfg.QRPoll = &m, 50*time.Millisecond
	kill := func(at string) {
		if at == op {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Hour)
		}
	}
	if phase == "before" {
		cfg.Store.BeforeCommit = func(o string) error { kill(o); return nil }
	} else {
		cfg.Store.OnCommit = func(o string, _ bool) { kill(o) }
	}
	eng, err := agent.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for wait := time.Now().Add(2 * time.Second); !eng.Status().Uplink.Up && time.Now().Before(wait); {
		time.Sleep(10 * time.Millisecond) // the acquirer may be down on purpose
	}
	ctx := context.Background()
	a := strings.Split(action, ":")
	switch a[0] {
	case "pay":
		amount, _ := strconv.ParseInt(a[3], 10, 64)
		if a[2] != "" {
			reader.Present(a[2])
		}
		req := agent.PaymentRequest{ID: a[1], Amount: amount, Currency: "EUR"}
		if len(a) > 4 && a[4] == "manual" {
			req.Capture = agent.CaptureManual
		}
		_, err = eng.Pay(ctx, req)
	case "void":
		_, err = eng.Void(ctx, a[1])
	case "qrpay":
		amount, _ := strconv.ParseInt(a[2], 10, 64)
		_, err = eng.Pay(ctx, agent.PaymentRequest{ID: a[1], Amount: amount, Currency: "EUR", Method: agent.MethodQRMerchant})
	}
	if op == "" || os.Getenv(envMaybe) != "" {
		// Not meant to be killed (or the point was not on this path):
		// stop cleanly.
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Close(ctx); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("not killed at %s %s (err %v)", phase, op, err)
}

// crash runs action in a child that dies at phase ("before"/"after") op,
// with the env's engine closed meanwhile, then reopens it.
func (e *env) crash(phase, op, action string) {
	e.t.Helper()
	if e.eng != nil {
		if err := e.eng.Close(context.Background()); err != nil {
			e.t.Fatal(err)
		}
		e.eng = nil
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+strings.Join([]string{e.dir, e.addr, phase, op, action}, "|"))
	if e.maybe {
		cmd.Env = append(cmd.Env, envMaybe+"=1")
	}
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	switch {
	case e.maybe && err == nil:
	case op == "" && err != nil:
		e.t.Fatalf("child failed: %v\n%s", err, out)
	case op != "" && (!ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL):
		e.t.Fatalf("child was not killed at %s %q: %v\n%s", phase, op, err, out)
	}
	e.open()
}

func TestCrashRecovery(t *testing.T) {
	cases := []struct {
		name, phase, op, action string
		state                   agent.State
		reversed                bool
		journal                 map[string]int // kind -> records after settling
	}{
		{"armed, before sending", "after", "agent: reversal", "pay:c1:visa:2500", agent.StateReversed, true,
			map[string]int{"financial": 0, "reversal": 1}},
		{"answered, before the final commit", "before", "agent: approved", "pay:c2:visa:2500", agent.StateReversed, true,
			map[string]int{"financial": 1, "reversal": 1}},
		{"after the final commit", "after", "agent: approved", "pay:c3:visa:2500", agent.StateApproved, false,
			map[string]int{"financial": 1, "reversal": 0}},
		{"pre-auth answered, before the final commit", "before", "agent: approved", "pay:c4:visa:2500:manual", agent.StateReversed, true,
			map[string]int{"auth": 1, "reversal": 1}},
		{"offline approval not committed", "before", "agent: advice", "pay:c5:visa:1500", agent.StateFailed, false,
			map[string]int{"advice": 0}},
		{"offline approval committed", "after", "agent: advice", "pay:c6:visa:1500", agent.StateApprovedOffline, false,
			map[string]int{"advice": 1}},
		{"waiting for a card", "after", "agent: waiting_for_card", "pay:c7::2500", agent.StateAborted, false,
			map[string]int{"financial": 0}},
	}
	e := newEnv(t, envOpts{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			id := strings.Split(c.action, ":")[1]
			e.crash(c.phase, c.op, c.action)
			p, err := e.eng.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if p.State != c.state || p.Reversed != c.reversed {
				t.Fatalf("after the crash: %s reversed=%v (%s), want %s reversed=%v", p.State, p.Reversed, p.Message, c.state, c.reversed)
			}
			if p.Receipt == nil {
				t.Fatal("no receipt")
			}
			if c.state != agent.StateApproved && c.state != agent.StateApprovedOffline {
				// Settled by the restarted engine: the event stream says so.
				events, cancel := e.eng.Subscribe(0)
				heard := false
				for !heard {
					select {
					case ev := <-events:
						heard = ev.Type == agent.EventState && ev.Payment == id && ev.State == c.state
					case <-time.After(2 * time.Second):
						cancel()
						t.Fatalf("no %s event for %s after the restart", c.state, id)
					}
				}
				cancel()
			}
			e.settle()
			recs := e.records(id)
			for kind, n := range c.journal {
				if len(recs[kind]) != n {
					t.Fatalf("journal %s: %d records, want %d (%+v)", kind, len(recs[kind]), n, recs)
				}
			}
			if n := len(recs["reversal"]); n == 1 && c.journal["financial"]+c.journal["auth"] == 1 && !recs["reversal"][0].ReversesApproved {
				t.Fatalf("the reversal did not find the approval it reverses: %+v", recs)
			}
		})
	}
	e.t = t
}

func TestCrashDuringVoid(t *testing.T) {
	e := newEnv(t, envOpts{})
	wantState(t, e.pay("cv1", "visa", amtOnline), agent.StateApproved, "")
	wantState(t, e.pay("cv2", "visa", amtOnline), agent.StateApproved, "")
	e.crash("before", "agent: voided", "void:cv1")
	if p, _ := e.eng.Get("cv1"); p.State != agent.StateApproved {
		t.Fatalf("void not committed, yet %s", p.State)
	}
	e.crash("after", "agent: voided", "void:cv2")
	if p, _ := e.eng.Get("cv2"); p.State != agent.StateVoided {
		t.Fatalf("void committed, yet %s", p.State)
	}
	e.settle()
	if recs := e.records("cv1"); len(recs["reversal"]) != 0 {
		t.Fatalf("uncommitted void sent: %+v", recs)
	}
	if recs := e.records("cv2"); len(recs["reversal"]) != 1 {
		t.Fatalf("committed void: %+v", recs)
	}
	// The first can still be voided, once.
	if _, err := e.eng.Void(context.Background(), "cv1"); err != nil {
		t.Fatal(err)
	}
	e.settle()
	if recs := e.records("cv1"); len(recs["reversal"]) != 1 {
		t.Fatalf("void after restart: %+v", recs)
	}

}
