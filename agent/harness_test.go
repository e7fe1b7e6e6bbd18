package agent_test

// The in-process harness: a real bbolt file in t.TempDir, the real uplink
// over loopback mutual TLS to the real acquirer simulator (uplink/acqsim)
// with its fsync'd journal, and software cards (emv/cardsim) behind the
// simulated reader.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/agent"
	"posagent/agent/input/sim"
	"posagent/emv"
	"posagent/offline"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

// Amounts the acquirer simulator's rules give a meaning to.
const (
	amtDecline   = 5100 // issuer answers 51
	amtSlow      = 7700 // answer after 3 s (abort after the request left)
	amtNoAnswer  = 6600 // journalled, then the connection drops (no answer)
	amtLagging   = 7800 // answer after 1 s (within the response timeout)
	amtOffline   = 1500 // within the card's and the AID's floor limit: TC
	amtOnline    = 2500 // above the AID floor limit: ARQC
	aidFloor     = 2000 // floor limit of every AID in the harness terminal
	standInFloor = 4000 // the engine's floor limit for an unreachable acquirer
)

const harnessRules = `{"rules": [
 {"name": "decline", "mti": ["0200", "0100"], "amount": 5100, "response_code": "51"},
 {"name": "slow", "mti": ["0200", "0100"], "amount": 7700, "delay": "3s"},
 {"name": "issuer declines an advice", "mti": ["0220", "0221"], "amount": 1400, "response_code": "05"},
 {"name": "lagging", "mti": ["0200", "0100"], "amount": 7800, "delay": "1s"},
 {"name": "no answer", "mti": ["0200", "0100"], "amount": 6600, "fault": "drop_after"}
]}`

type env struct {
	t           testing.TB
	dir         string
	srv         *acqsim.Server
	journal     *acqsim.Journal
	journalPath string
	addr        string
	tlsDir      string
	reader      *sim.Reader
	eng         *agent.Engine
	cfg         agent.Config

	acqDown bool // the acquirer simulator refuses connections
	maybe   bool // crash: the child may finish without reaching its kill point

	mu      sync.Mutex
	commits []commit
}

type commit struct {
	op     string
	synced bool
}

type envOpts struct {
	noAcquirer bool
	reader     sim.Options
	tweak      func(*agent.Config)
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.tlsDir = filepath.Join(e.dir, "tls")
	if err := acqsim.InitCerts(e.tlsDir); err != nil {
		t.Fatal(err)
	}
	e.journalPath = filepath.Join(e.dir, "journal.jsonl")
	if err := os.Mkdir(filepath.Join(e.dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.journal, err = acqsim.OpenJournal(e.journalPath); err != nil {
		t.Fatal(err)
	}
	stls, err := acqsim.ServerTLS(e.tlsDir)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := acqsim.ParseRules([]byte(harnessRules))
	if err != nil {
		t.Fatal(err)
	}
	if e.srv, err = acqsim.NewServer(acqsim.Config{TLS: stls, Journal: e.journal, Rules: rules}); err != nil {
		t.Fatal(err)
	}
	a, err := e.srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = a.String()
	t.Cleanup(func() {
		if e.eng != nil {
			e.eng.Close(context.Background())
		}
		e.srv.Close()
		e.journal.Close()
	})
	if e.reader, err = sim.New(o.reader); err != nil {
		t.Fatal(err)
	}
	e.cfg = harnessConfig(t, e.dir, e.addr, e.reader, !o.noAcquirer)
	e.cfg.Store.OnCommit = func(op string, synced bool) {
		e.mu.Lock()
		e.commits = append(e.commits, commit{op, synced})
		e.mu.Unlock()
	}
	if o.tweak != nil {
		o.tweak(&e.cfg)
	}
	e.open()
	return e
}

// harnessConfig is the engine configuration of the harness on dir, with
// the acquirer simulator at addr (certificates in dir/tls).
func harnessConfig(t testing.TB, dir, addr string, reader *sim.Reader, acquirer bool) agent.Config {
	t.Helper()
	term := emv.DefaultConfig()
	term.TestKeys = true // software cards are signed by test CAs
	for i := range term.AIDs {
		term.AIDs[i].FloorLimit = aidFloor
	}
	cfg := agent.Config{
		DataFile: filepath.Join(dir, "data", offline.DBFileName),
		Store: offline.Options{
			KeyFile:    filepath.Join(dir, "keys", offline.KeyFileName),
			SecretFile: filepath.Join(dir, "keys", offline.SecretFileName),
			Limits:     map[string]offline.Limit{"*": {PerTransaction: 5000, Count: 50}},
		},
		Terminal:       &term,
		Readers:        []agent.Reader{reader},
		FloorLimit:     standInFloor,
		CardTimeout:    20 * time.Second,
		ForwardBackoff: 20 * time.Millisecond, ForwardBackoffMax: 200 * time.Millisecond, ForwardPoll: 50 * time.Millisecond,
	}
	if acquirer {
		ctls, err := acqsim.ClientTLSFiles(filepath.Join(dir, "tls")).Load()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Acquirer = &uplink.Config{Addr: addr, TLS: ctls, AcquirerID: "12345",
			ResponseTimeout: 2 * time.Second, ConnectWait: 300 * time.Millisecond,
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	}
	return cfg
}

// open opens the engine on the env's file and waits for the uplink.
func (e *env) open() {
	e.t.Helper()
	eng, err := agent.Open(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.eng = eng
	if e.cfg.Acquirer != nil && !e.acqDown {
		e.waitUplink(true)
	}
}

// reopen closes the engine and opens it again on the same file.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.eng.Close(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.eng = nil
	e.open()
}

func (e *env) waitUplink(up bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.eng.Status().Uplink.Up != up {
		if time.Now().After(deadline) {
			e.t.Fatalf("uplink up=%v not reached", up)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// down makes the acquirer unreachable; up brings it back.
func (e *env) down() {
	e.acqDown = true
	e.srv.SetFault(acqsim.Fault{Kind: acqsim.FaultDown})
	e.srv.DropConnections()
	e.waitUplink(false)
}

func (e *env) up() {
	e.acqDown = false
	e.srv.SetFault(acqsim.Fault{})
	e.waitUplink(true)
}

// pay taps preset and pays amount EUR to a final state.
func (e *env) pay(id, preset string, amount int64, mod ...func(*agent.PaymentRequest)) agent.Payment {
	e.t.Helper()
	if preset != "" {
		if err := e.reader.Present(preset); err != nil {
			e.t.Fatal(err)
		}
	}
	req := agent.PaymentRequest{ID: id, Amount: amount, Currency: "EUR", Reference: "ref-" + id}
	for _, m := range mod {
		m(&req)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := e.eng.Pay(ctx, req)
	if err != nil {
		e.t.Fatalf("pay %s: %v", id, err)
	}
	if !p.State.Final() {
		e.t.Fatalf("pay %s: not final: %s", id, p.State)
	}
	return p
}

// forward drains the queue now.
func (e *env) forward() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.eng.ForwardNow(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// settle waits until the queue holds nothing to send.
func (e *env) settle() {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		entries, err := e.eng.QueueEntries()
		if err != nil {
			e.t.Fatal(err)
		}
		busy := 0
		for _, en := range entries {
			if en.State != string(offline.StateDone) && en.State != string(offline.StateFailed) {
				busy++
			}
		}
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("queue not settled: %+v", entries)
		}
		e.forward()
		time.Sleep(20 * time.Millisecond)
	}
}

// records returns the journal's non-duplicate records for txn, by kind.
func (e *env) records(txn string) map[string][]acqsim.Record {
	e.t.Helper()
	out := map[string][]acqsim.Record{}
	for _, r := range readJournal(e.t, e.journalPath) {
		if r.TransactionID == txn {
			k := r.Kind
			if r.Duplicate {
				k += "-dup"
			}
			out[k] = append(out[k], r)
		}
	}
	return out
}

// syncedSince counts fsync'd commits of the engine (ops "agent: ...")
// after the first n commits.
func (e *env) syncedSince(n int) (int, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ops := 0, []string(nil)
	for _, x := range e.commits[n:] {
		if x.synced && strings.HasPrefix(x.op, "agent: ") {
			c++
			ops = append(ops, x.op)
		}
	}
	return c, ops
}

func (e *env) ncommits() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.commits)
}

func wantState(t testing.TB, p agent.Payment, s agent.State, reason string) {
	t.Helper()
	if p.State != s || p.Reason != reason {
		t.Fatalf("payment %s: state %s reason %q (%s), want %s %q", p.ID, p.State, p.Reason, p.Message, s, reason)
	}
	if s.Final() && (p.Receipt == nil || len(p.Receipt.Merchant) == 0 || len(p.Receipt.Customer) == 0) {
		t.Fatalf("payment %s: final without a receipt", p.ID)
	}
}

// waitEvent waits for an event matching fn on ch.
func waitEvent(t testing.TB, ch <-chan agent.Event, fn func(agent.Event) bool) agent.Event {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("event stream closed")
			}
			if fn(ev) {
				return ev
			}
		case <-timeout:
			t.Fatal("event not seen")
		}
	}
}

func isErr(err, target error) bool { return errors.Is(err, target) }

func readJournal(t testing.TB, path string) []acqsim.Record {
	t.Helper()
	recs, err := acqsim.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
