package uplink_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"posagent/emv/pan"
	"posagent/internal/syncbuf"
	"posagent/offline"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

const (
	testPAN  = "4761739001010010"
	testTID  = "T0000001"
	testMID  = "MERCHANT0000001"
	currency = "978"
)

var tlsDir string // CA, server and client certificates shared by the tests

func TestMain(m *testing.M) {
	if os.Getenv("UPLINK_CRASH_CHILD") == "1" {
		crashChild()
		return
	}
	d, err := os.MkdirTemp("", "uplink-test-")
	if err != nil {
		panic(err)
	}
	tlsDir = filepath.Join(d, "tls")
	if err := acqsim.InitCerts(tlsDir); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// env is one acqsim server on loopback TLS with its journal.
type env struct {
	srv         *acqsim.Server
	addr        string
	journalPath string
	logs        *syncbuf.Buffer
}

func newEnv(t *testing.T, rules string, fault acqsim.Fault, mods ...func(*acqsim.Config)) *env {
	t.Helper()
	e := &env{journalPath: filepath.Join(t.TempDir(), "journal.jsonl"), logs: &syncbuf.Buffer{}}
	j, err := acqsim.OpenJournal(e.journalPath)
	if err != nil {
		t.Fatal(err)
	}
	stls, err := acqsim.ServerTLS(tlsDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := acqsim.Config{TLS: stls, Journal: j, Fault: fault,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if rules != "" {
		if cfg.Rules, err = acqsim.ParseRules([]byte(rules)); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range mods {
		m(&cfg)
	}
	e.srv, err = acqsim.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = a.String()
	t.Cleanup(func() {
		e.srv.Close()
		j.Close()
		checkNoPAN(t, "acqsim log", e.logs.String())
	})
	return e
}

func (e *env) totals(t *testing.T) *acqsim.Totals {
	t.Helper()
	tot, err := acqsim.ReadTotals(e.journalPath)
	if err != nil {
		t.Fatal(err)
	}
	return tot
}

func (e *env) count(t *testing.T, kind string) int {
	k := e.totals(t).ByKind[kind]
	if k == nil {
		return 0
	}
	return k.Count
}

// checkNoPAN fails if the full test PAN appears in s.
func checkNoPAN(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, testPAN) {
		t.Errorf("%s contains the full PAN", what)
	}
}

func clientTLS(t testing.TB, pins ...string) *tls.Config {
	t.Helper()
	f := acqsim.ClientTLSFiles(tlsDir)
	f.Pins = pins
	cfg, err := f.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// testQueue is a Queue the tests can drain like the offline forwarder.
type testQueue interface {
	uplink.Queue
	// drain forwards every due entry once through c; it returns how many.
	drain(t *testing.T, c *uplink.Client) int
	state(t *testing.T, id string) offline.State
}

// memQueue: the in-memory acqsim.MemQueue with a minimal forwarder.
type memQueue struct{ *acqsim.MemQueue }

func (q memQueue) drain(t *testing.T, c *uplink.Client) int {
	n := 0
	for _, e := range q.Pending(offline.StatePending) {
		n++
		err := c.Forward(context.Background(), e)
		switch {
		case err == nil, errors.Is(err, offline.ErrDeclined), errors.Is(err, offline.ErrRejected):
			q.Finish(e.ID)
		default:
			t.Logf("forward %s: %v (will retry)", e.ID, err)
		}
	}
	return n
}

func (q memQueue) state(t *testing.T, id string) offline.State {
	e, err := q.Get(id)
	if errors.Is(err, offline.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return e.State
}

// storeQueue: the real offline.Store in t.TempDir, drained by its Forwarder.
type storeQueue struct{ *offline.Store }

func (q storeQueue) drain(t *testing.T, c *uplink.Client) int {
	f := &offline.Forwarder{Store: q.Store, Sender: c, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond}
	n, err := f.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (q storeQueue) state(t *testing.T, id string) offline.State {
	e, err := q.Get(id)
	if errors.Is(err, offline.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return e.State
}

func openStore(t *testing.T) storeQueue {
	t.Helper()
	s, err := offline.Open(filepath.Join(t.TempDir(), "queue.db"), offline.Options{
		Limits: map[string]offline.Limit{"*": {PerTransaction: 100000}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return storeQueue{s}
}

// queueKinds runs a test with both queue implementations.
var queueKinds = []struct {
	name string
	open func(t *testing.T) testQueue
}{
	{"mem", func(*testing.T) testQueue { return memQueue{acqsim.NewMemQueue()} }},
	{"offline.Store", func(t *testing.T) testQueue { return openStore(t) }},
}

func (e *env) client(t *testing.T, q uplink.Queue, mod func(*uplink.Config)) (*uplink.Client, *syncbuf.Buffer) {
	t.Helper()
	stan, err := uplink.OpenSTAN(filepath.Join(t.TempDir(), "stan"), 0)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	cfg := uplink.Config{
		Addr: e.addr, TLS: clientTLS(t), TerminalID: testTID, MerchantID: testMID, MCC: "5411",
		AcquirerID: "12345", Queue: q, STAN: stan, ResponseTimeout: 2 * time.Second,
		ConnectWait: 2 * time.Second, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := uplink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		checkNoPAN(t, "uplink log", logs.String())
	})
	return c, logs
}

func waitReady(t *testing.T, c *uplink.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("client not ready: %v", err)
	}
}

var atc atomic.Uint32

// card returns a contactless transaction with a valid ARQC.
func card(t testing.TB, id string, amount int64) uplink.Transaction {
	t.Helper()
	p, err := pan.Parse(testPAN)
	if err != nil {
		t.Fatal(err)
	}
	icc, err := acqsim.ICCData(acqsim.CardData{Scheme: "visa", PAN: testPAN, PSN: 1, ATC: uint16(atc.Add(1)),
		Amount: amount, Currency: currency, UN: 0x11223344})
	if err != nil {
		t.Fatal(err)
	}
	return uplink.Transaction{ID: id, PAN: p, Expiry: "2812", PSN: "001", Amount: amount,
		Currency: currency, EntryMode: uplink.EntryContactless, ICC: icc}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return fmt.Sprint(err)
}
