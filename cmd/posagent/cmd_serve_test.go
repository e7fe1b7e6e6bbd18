package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"posagent/agent"
	"posagent/agent/api"
	"posagent/agent/api/apitest"
	"posagent/agent/config"
	"posagent/emv/cardsim"
	"posagent/emv/cardsim/vpcd"
	"posagent/internal/syncbuf"
	"posagent/offline"
	"posagent/reader/pcsc/pcsctest"
	"posagent/uplink/acqsim"
)

// Amounts the acquirer simulator's rules of the serve tests give a meaning to.
const (
	serveDecline = 5100 // issuer answers 51
	serveSlow    = 7700 // answered after 2 s: abort after the request left
	serveSlowish = 3300 // answered after 150 ms: a window for kills (crash test)
	serveOffline = 1500 // within the floor limit when the acquirer is down
)

const serveRules = `{"rules": [
 {"name": "decline", "mti": ["0200", "0100"], "amount": 5100, "response_code": "51"},
 {"name": "slow", "mti": ["0200", "0100"], "amount": 7700, "delay": "2s"},
 {"name": "slowish", "mti": ["0200", "0100"], "amount": 3300, "delay": "150ms"}
]}`

// serveEnv is a real acquirer simulator (mutual TLS, fsync'd journal) and
// the config of a daemon talking to it, in a temp dir.
type serveEnv struct {
	t           testing.TB
	dir         string
	srv         *acqsim.Server
	journalPath string
	acqAddr     string
	cfgFile     string
	logs        *syncbuf.Buffer
}

func newServeEnv(t testing.TB, extra string) *serveEnv {
	return newServeEnvReaders(t, extra, `[readers]
pcsc = false
[readers.simulated]
enabled = true
card = ""
qr = true
[[readers.simulated.by_amount]]
min = 100
card = "visa"`)
}

// newServeEnvReaders is newServeEnv with the [readers] part of the config given.
func newServeEnvReaders(t testing.TB, extra, readers string) *serveEnv {
	t.Helper()
	e := &serveEnv{t: t, dir: t.TempDir(), logs: &syncbuf.Buffer{}}
	acq, err := startAcquirer(e.dir, serveRules, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(acq.close)
	e.srv, e.journalPath, e.acqAddr = acq.srv, acq.journalPath, acq.addr
	f := acqsim.ClientTLSFiles(acq.tlsDir)
	text := fmt.Sprintf(`data_dir = %q
key_dir = %q
[log]
level = "debug"
[terminal]
test_keys = true
[acquirer]
address = %q
client_cert = %q
client_key = %q
ca = %q
response_timeout = "3s"
[offline]
floor_limit = 4000
[offline.limits."*"]
per_transaction = 5000
count = 50
%s
[api]
listen = "127.0.0.1:%d"
payment_timeout = "20s"
%s`, filepath.Join(e.dir, "data"), filepath.Join(e.dir, "keys"), e.acqAddr, f.CertFile, f.KeyFile, f.CAFile, readers, freePort(t), extra)
	e.cfgFile = filepath.Join(e.dir, "posagent.toml")
	if err := os.WriteFile(e.cfgFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (e *serveEnv) config() *config.Config {
	e.t.Helper()
	c, err := config.Load(e.cfgFile)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// start runs the daemon in process; it is stopped at the end of the test.
func (e *serveEnv) start() (*daemon, *api.Client) {
	e.t.Helper()
	d, err := startDaemon(e.config(), e.logs)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { d.stop() })
	c := &api.Client{BaseURL: "http://" + d.listeners[0].Addr().String(), Token: d.token,
		HTTP: &http.Client{Transport: apitest.Transport(e.t, nil)}}
	e.waitUplink(c, true)
	return d, c
}

func (e *serveEnv) waitUplink(c *api.Client, up bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.Status(context.Background())
		if err == nil && st.Uplink.Up == up {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("uplink up=%v not reached: %+v %v", up, st.Uplink, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *serveEnv) down(c *api.Client) {
	e.srv.SetFault(acqsim.Fault{Kind: acqsim.FaultDown})
	e.srv.DropConnections()
	e.waitUplink(c, false)
}

func (e *serveEnv) up(c *api.Client) {
	e.srv.SetFault(acqsim.Fault{})
	e.waitUplink(c, true)
}

func (e *serveEnv) totals() *acqsim.Totals {
	e.t.Helper()
	tot, err := acqsim.ReadTotals(e.journalPath)
	if err != nil {
		e.t.Fatal(err)
	}
	return tot
}

// simulate posts body to /v1/simulator/ROUTE and wants status.
func simulate(t testing.TB, c *api.Client, route, body string, status int) {
	t.Helper()
	req, _ := http.NewRequest("POST", c.BaseURL+"/v1/simulator/"+route, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil || resp.StatusCode != status {
		t.Fatalf("simulator %s %s: %v %v, want %d", route, body, err, resp.StatusCode, status)
	}
	resp.Body.Close()
}

func present(t testing.TB, c *api.Client, card string) {
	t.Helper()
	req, _ := http.NewRequest("POST", c.BaseURL+"/v1/simulator/present", strings.NewReader(`{"card":"`+card+`"}`))
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("present %s: %v %v", card, err, resp.StatusCode)
	}
	resp.Body.Close()
}

func pay(id string, amount int64) api.PaymentBody {
	return api.PaymentBody{ID: id, Amount: amount, Currency: "EUR", Reference: "serve test"}
}

func waitFor(t testing.TB, c *api.Client, id string, s agent.State) agent.Payment {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := c.Get(context.Background(), id)
		if err == nil && p.State == s {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("payment %s: %s %v, want %s", id, p.State, err, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestServeDay drives the real daemon (engine, bbolt, uplink over mutual
// TLS to acqsim, simulated reader) through its API over real TCP, every
// request and answer checked against openapi.yaml.
func TestServeDay(t *testing.T) {
	e := newServeEnv(t, "")
	d, c := e.start()
	ctx := context.Background()

	// Online approvals: Visa by amount, Mastercard presented for this payment.
	p, err := c.Pay(ctx, pay("visa-1", 1234))
	if err != nil || p.State != agent.StateApproved || p.Scheme != "visa" || p.AuthCode == "" || p.Receipt == nil {
		t.Fatalf("visa: %+v %v", p, err)
	}
	if !strings.Contains(strings.Join(p.Receipt.Customer, "\n"), p.MaskedPAN) {
		t.Errorf("receipt without the masked PAN: %q", p.Receipt.Customer)
	}
	// An unknown simulated card: 400 naming the field.
	req, _ := http.NewRequest("POST", c.BaseURL+"/v1/simulator/present", strings.NewReader(`{"card":"diners"}`))
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := c.HTTP.Do(req); err != nil || resp.StatusCode != 400 {
		t.Fatalf("present diners: %v %v", err, resp.StatusCode)
	} else {
		var e api.Error
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if e.Code != api.CodeInvalidRequest || e.Field != "card" {
			t.Fatalf("present diners: %+v", e)
		}
	}
	present(t, c, "mastercard")
	if p, err = c.Pay(ctx, pay("mc-1", 2345)); err != nil || p.State != agent.StateApproved || p.Scheme != "mastercard" {
		t.Fatalf("mastercard: %+v %v", p, err)
	}
	// Idempotency against the real ledger.
	if again, err := c.Pay(ctx, pay("mc-1", 2345)); err != nil || again.Updated != p.Updated {
		t.Fatalf("replay: %+v %v", again, err)
	}
	if _, err := c.Pay(ctx, pay("mc-1", 2346)); !errors.Is(err, agent.ErrConflict) {
		t.Fatalf("same id, other amount: %v", err)
	}
	// Issuer decline.
	if p, err = c.Pay(ctx, pay("dec-1", serveDecline)); err != nil || p.State != agent.StateDeclined || p.Response != "51" {
		t.Fatalf("decline: %+v %v", p, err)
	}

	// A QR payment: the customer's Alipay code held to the simulated scanner.
	qp := pay("qr-1", 990)
	qp.Reader = "qr-simulated"
	if _, err := c.Start(ctx, qp); err != nil {
		t.Fatal(err)
	}
	simulate(t, c, "scan", `{"code":"286512345678901234"}`, 200)
	if p, err = c.Wait(ctx, "qr-1"); err != nil || p.State != agent.StateApproved || p.Scheme != "alipay" || p.EntryMode != "qr_consumer" {
		t.Fatalf("QR: %+v %v", p, err)
	}
	simulate(t, c, "scan", `{"code":""}`, 400)

	// Abort before the request left: nobody taps.
	e.abortBeforeLeft(c)

	// Abort after the request left: reversed.
	if _, err := c.Start(ctx, pay("slow-1", serveSlow)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "slow-1", agent.StateOnline)
	if p, err = c.Abort(ctx, "slow-1"); err != nil || p.State != agent.StateReversed || !p.Reversed {
		t.Fatalf("abort after the request left: %+v %v", p, err)
	}

	// Void, pre-authorisation and capture, refund.
	if p, err = c.Void(ctx, "visa-1"); err != nil || p.State != agent.StateVoided {
		t.Fatalf("void: %+v %v", p, err)
	}
	if _, err = c.Void(ctx, "dec-1"); !errors.Is(err, agent.ErrWrongState) {
		t.Fatalf("void of a decline: %v", err)
	}
	pre := pay("pre-1", 3000)
	pre.Capture = agent.CaptureManual
	if p, err = c.Pay(ctx, pre); err != nil || p.Kind != agent.KindPreAuth || p.State != agent.StateApproved {
		t.Fatalf("preauth: %+v %v", p, err)
	}
	if p, err = c.Capture(ctx, "pre-1", 2500); err != nil || p.State != agent.StateCaptured || p.Captured != 2500 {
		t.Fatalf("capture: %+v %v", p, err)
	}
	if p, err = c.Refund(ctx, api.RefundBody{ID: "ref-1", PaymentID: "mc-1", Amount: 345}); err != nil || p.State != agent.StateRefunded {
		t.Fatalf("refund: %+v %v", p, err)
	}

	// Acquirer down: an offline approval within the floor limit, queued;
	// back up: forwarded exactly once.
	e.down(c)
	if p, err = c.Pay(ctx, pay("off-1", serveOffline)); err != nil || p.State != agent.StateApprovedOffline {
		t.Fatalf("offline: %+v %v", p, err)
	}
	deny := pay("off-2", serveOffline)
	deny.Offline = agent.OfflineDeny
	if p, err = c.Pay(ctx, deny); err != nil || p.State != agent.StateDeclined || p.Reason != agent.ReasonAcquirerUnavailable {
		t.Fatalf("offline deny: %+v %v", p, err)
	}
	q, err := c.Queue(ctx)
	if err != nil || len(q) == 0 {
		t.Fatalf("queue while down: %+v %v", q, err)
	}
	e.checkDataDirHoldsNoKey(q)
	e.up(c)
	if _, err := c.Forward(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := c.Status(ctx)
		if st.Queue.ByState["pending"]+st.Queue.ByState["held"]+st.Queue.ByState["in-flight"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %+v", st.Queue)
		}
		c.Forward(ctx)
		time.Sleep(20 * time.Millisecond)
	}

	// Totals agree with what was done; the acquirer got each advice once.
	tot, err := c.Totals(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[agent.State]int{}
	for _, r := range tot.Rows {
		count[r.State] += r.Count
	}
	if count[agent.StateApproved] != 2 || count[agent.StateDeclined] != 2 || count[agent.StateReversed] != 1 || count[agent.StateAborted] != 1 || count[agent.StateVoided] != 1 || count[agent.StateCaptured] != 1 || count[agent.StateRefunded] != 1 || count[agent.StateApprovedOffline] < 1 {
		t.Fatalf("totals %+v", tot)
	}
	j := e.totals()
	if adv := j.ByKind[acqsim.KindAdvice]; adv == nil || adv.Count < 1 {
		t.Fatalf("journal advices: %+v", j.ByKind)
	}
	if dup := j.Duplicates; dup != 0 {
		t.Fatalf("journal: %d duplicates", dup)
	}

	// Events: replay from the start, resume after an id.
	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var evs []agent.Event
	c.Events(ectx, 0, func(ev agent.Event) bool { evs = append(evs, ev); return ev.Payment != "off-2" || !ev.State.Final() })
	if len(evs) < 10 {
		t.Fatalf("events: %d", len(evs))
	}
	var resumed []agent.Event
	c.Events(ectx, evs[4].ID, func(ev agent.Event) bool { resumed = append(resumed, ev); return false })
	if len(resumed) != 1 || resumed[0].ID != evs[5].ID {
		t.Fatalf("resume after %d: %+v", evs[4].ID, resumed)
	}

	// Metrics from the engine's Observer.
	req, _ = http.NewRequest("GET", c.BaseURL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`posagent_payments_total{kind="purchase",outcome="approved"} `, `posagent_payments_total{kind="purchase",outcome="declined"} `,
		`posagent_tap_duration_seconds_count `, `posagent_online_duration_seconds_count{result="approved"} `, "posagent_uplink_up 1", "posagent_queue_depth 0"} {
		if !strings.Contains(string(mb), want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// Probes and the description, through the checking transport too.
	for _, path := range []string{"/healthz", "/readyz", "/v1/openapi.yaml"} {
		resp, err := c.HTTP.Get(c.BaseURL + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
	}
	// Every operation of openapi.yaml was called on the real daemon.
	if spec, err := apitest.Load(); err != nil {
		t.Fatal(err)
	} else if missing := spec.Missing(true); len(missing) > 0 {
		t.Errorf("operations the day did not call on the real engine: %v", missing)
	}

	// Logs: JSON lines, no full PAN.
	e.checkLogs()

	// Restart: the same answers from the same file, the same token.
	token := d.token
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	d2, c2 := e.start()
	if d2.token != token {
		t.Fatal("token changed across a restart")
	}
	for id, s := range map[string]agent.State{"mc-1": agent.StateApproved, "visa-1": agent.StateVoided, "slow-1": agent.StateReversed, "off-1": agent.StateApprovedOffline, "pre-1": agent.StateCaptured} {
		if p, err := c2.Get(ctx, id); err != nil || p.State != s {
			t.Errorf("after restart %s: %s %v, want %s", id, p.State, err, s)
		}
	}
}

// abortBeforeLeft: a payment below the simulated reader's first amount
// rule waits for a card (like a reader nobody taps); a second payment meanwhile
// is busy; the first is aborted before any request left.
func (e *serveEnv) abortBeforeLeft(c *api.Client) {
	e.t.Helper()
	ctx := context.Background()
	p, err := c.Start(ctx, pay("abort-1", 50))
	if err != nil || p.State.Final() {
		e.t.Fatalf("start: %+v %v", p, err)
	}
	waitFor(e.t, c, "abort-1", agent.StateWaitingForCard)
	// One card payment per reader: a second one while this one waits is busy.
	_, err = c.Pay(ctx, pay("other-1", 100))
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeBusy || ae.InFlight != "abort-1" {
		e.t.Fatalf("second payment while one waits for a card: %v", err)
	}
	if _, err := c.Get(ctx, "other-1"); !errors.Is(err, agent.ErrNotFound) {
		e.t.Fatalf("the busy request was stored: %v", err)
	}
	if p, err = c.Abort(ctx, "abort-1"); err != nil || p.State != agent.StateAborted || p.Reversed {
		e.t.Fatalf("abort before the request left: %+v %v", p, err)
	}
}

// checkDataDirHoldsNoKey: the data directory alone (copied elsewhere,
// without the key directory) holds no key and opens no queued card data.
func (e *serveEnv) checkDataDirHoldsNoKey(q []agent.QueueEntry) {
	e.t.Helper()
	data, keys := filepath.Join(e.dir, "data"), filepath.Join(e.dir, "keys")
	var keyBlobs [][]byte
	for _, n := range []string{config.QueueKeyName, config.DeviceSecretName, config.APITokenName} {
		b, err := os.ReadFile(filepath.Join(keys, n))
		if err != nil {
			e.t.Fatalf("key %s not in the key directory: %v", n, err)
		}
		keyBlobs = append(keyBlobs, bytes.TrimSpace(b))
	}
	var pans []string
	for _, n := range []string{"visa", "mastercard"} {
		p, _ := cardsim.Preset(n)
		pans = append(pans, p.PAN)
	}
	copyDir := filepath.Join(e.dir, "copy-of-data")
	filepath.WalkDir(data, func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, k := range keyBlobs {
			if bytes.Contains(b, k) {
				e.t.Errorf("%s holds key material", path)
			}
		}
		for _, pan := range pans {
			if bytes.Contains(b, []byte(pan)) {
				e.t.Errorf("%s holds a clear PAN", path)
			}
		}
		rel, _ := filepath.Rel(data, path)
		os.MkdirAll(filepath.Dir(filepath.Join(copyDir, rel)), 0o700)
		return os.WriteFile(filepath.Join(copyDir, rel), b, 0o600)
	})
	// The copy, with keys of its own, opens no queued entry.
	other := filepath.Join(e.dir, "other-keys")
	os.Mkdir(other, 0o700)
	st, err := offline.Open(filepath.Join(copyDir, offline.DBFileName), offline.Options{ReadOnly: false,
		KeyFile: filepath.Join(other, "k"), SecretFile: filepath.Join(other, "s"), OpenTimeout: -1})
	if err != nil {
		if !errors.Is(err, offline.ErrKey) {
			e.t.Fatalf("opening the copy: %v", err)
		}
		return
	}
	defer st.Close()
	opened := 0
	for _, qe := range q {
		if _, err := st.Get(qe.ID); err == nil {
			opened++
		} else if !errors.Is(err, offline.ErrKey) {
			e.t.Errorf("entry %s of the copy: %v, want ErrKey", qe.ID, err)
		}
	}
	if opened > 0 {
		e.t.Fatalf("%d queued entries opened without the key directory", opened)
	}
}

func (e *serveEnv) checkLogs() {
	e.t.Helper()
	logs := e.logs.String()
	if logs == "" {
		e.t.Fatal("no logs")
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			e.t.Fatalf("log line is not JSON: %q", line)
		}
	}
	for _, n := range []string{"visa", "mastercard"} {
		p, _ := cardsim.Preset(n)
		if strings.Contains(logs, p.PAN) {
			e.t.Errorf("logs hold the full PAN of %s", n)
		}
	}
}

func TestServeSecondOnSameDataDirFails(t *testing.T) {
	e := newServeEnv(t, "")
	e.start()
	cfg := e.config()
	start := time.Now()
	_, err := startDaemon(cfg, io.Discard)
	if !errors.Is(err, offline.ErrLocked) || !strings.Contains(err.Error(), "in use by another posagent") {
		t.Fatalf("second daemon: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("second daemon took %v to fail", time.Since(start))
	}
	// And as a command: exit 1 with the message.
	var out, errb bytes.Buffer
	if code := runServe(context.Background(), []string{"--config", e.cfgFile}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "in use by another posagent") {
		t.Fatalf("serve: exit %d, stderr %s", code, errb.String())
	}
}

func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[api]\nlisten = \"0.0.0.0:8484\"\n[terminal]\nterminal_id = \"X\"\n"), 0o600)
	var out, errb bytes.Buffer
	code := runServe(context.Background(), []string{"--config", bad}, &out, &errb)
	s := errb.String()
	if code != 1 || !strings.Contains(s, bad+": api.listen: ") || !strings.Contains(s, bad+": terminal.terminal_id: ") {
		t.Fatalf("exit %d, stderr:\n%s", code, s)
	}
	out.Reset()
	if code := runServe(context.Background(), []string{"--print-defaults"}, &out, &errb); code != 0 || out.String() != config.Defaults() {
		t.Fatalf("--print-defaults: %d", code)
	}
	if code := runServe(context.Background(), []string{"--config", bad, "--check"}, &out, &errb); code != 1 {
		t.Fatalf("--check of a bad file: %d", code)
	}
}

// TestServeSIGTERM runs `posagent serve` as a real process, sends SIGTERM
// while a payment is online, and expects the cashier to hear its final
// state and the process to exit 0.
func TestServeSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	e := newServeEnv(t, "")
	child := e.startChild(t)
	t.Cleanup(func() { child.cmd.Process.Kill() })
	cfg := e.config()
	base := "http://" + cfg.API.Listen
	token, err := os.ReadFile(filepath.Join(cfg.KeyDir, config.APITokenName))
	if err != nil {
		t.Fatal(err)
	}
	c := &api.Client{BaseURL: base, Token: strings.TrimSpace(string(token)), HTTP: &http.Client{Transport: apitest.Transport(t, nil)}}
	e.waitUplink(c, true)
	type result struct {
		p   agent.Payment
		err error
	}
	res := make(chan result, 1)
	go func() {
		p, err := c.Pay(context.Background(), pay("term-1", serveSlow))
		res <- result{p, err}
	}()
	waitFor(t, c, "term-1", agent.StateOnline)
	child.cmd.Process.Signal(syscall.SIGTERM)
	r := <-res
	if r.err != nil || !r.p.State.Final() {
		t.Fatalf("payment in flight at SIGTERM: %+v %v", r.p, r.err)
	}
	select {
	case err := <-child.done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, child.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit after SIGTERM\n%s", child.logs.String())
	}
	if !strings.Contains(child.logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no stop line in the log:\n%s", child.logs.String())
	}
	t.Logf("payment at SIGTERM: %s (reversed %v)", r.p.State, r.p.Reversed)
}

// TestSystemdUnit checks packaging/posagent.service with systemd-analyze
// when it is installed: it parses, and its exposure score stays low.
func TestSystemdUnit(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed")
	}
	unit, err := os.ReadFile("../../packaging/posagent.service")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.service")
	// verify wants the ExecStart binary to exist.
	os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/bin/posagent"), []byte("/bin/true")), 0o644)
	if out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command("systemd-analyze", "security", "--offline=yes", "--threshold=20", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	for _, want := range []string{"NoNewPrivileges=yes", "ProtectSystem=strict", "LoadCredentialEncrypted=api.token", "ReadWritePaths=/var/lib/posagent /var/lib/posagent-keys"} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("unit lacks %s", want)
		}
	}
}

// TestLoggerMasks: a PAN-like digit run in any string or error attribute
// reaches the log as first 6 + last 4.
func TestLoggerMasks(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(config.Log{Level: "debug", Format: "json"}, &buf)
	log.Info("card 4761739001010010 seen", "pan", "4761739001010010", "err", errors.New("issuer said 5413330089010434 is blocked"),
		"nested", []string{"x"}, "amount", 1234)
	s := buf.String()
	for _, clear := range []string{"4761739001010010", "5413330089010434"} {
		if strings.Contains(s, clear) {
			t.Errorf("log holds %s: %s", clear, s)
		}
	}
	if !strings.Contains(s, `"pan":"476173******0010"`) || !strings.Contains(s, "541333******0434") || !strings.Contains(s, `"amount":1234`) {
		t.Errorf("log: %s", s)
	}
}

// TestServePCSC: `posagent serve` with a real PC/SC reader (pcscd and the
// vpcd virtual reader, a software card attached to it) takes an online
// payment through the API.
func TestServePCSC(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	pr, _ := cardsim.Preset("mastercard")
	card, err := cardsim.New(pr)
	if err != nil {
		t.Fatal(err)
	}
	pcsctest.Attach(t, pcsctest.Addr0, card, vpcd.Options{})
	e := newServeEnvReaders(t, "", "[readers]\npcsc = true\npcsc_match = \"virtual pcd 00 00$\"")
	_, c := e.start()
	st, err := c.Status(context.Background())
	if err != nil || len(st.Readers) != 1 || st.Readers[0].Name != "pcsc" {
		t.Fatalf("status %+v %v", st, err)
	}
	p, err := c.Pay(context.Background(), pay("pcsc-1", 2345))
	if err != nil || p.State != agent.StateApproved || p.Scheme != "mastercard" || p.Reader != "pcsc" {
		t.Fatalf("payment through PC/SC: %+v %v", p, err)
	}
	if card.ATC() == pr.ATC {
		t.Fatal("the software card behind pcscd was never asked")
	}
	if n := e.totals().ByKind[acqsim.KindFinancial]; n == nil || n.Approved != 1 {
		t.Fatalf("journal: %+v", e.totals().ByKind)
	}
}
