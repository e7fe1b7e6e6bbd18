package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"posagent/agent"
	"posagent/agent/api"
	"posagent/agent/config"
	"posagent/emv"
	"posagent/money"
	"posagent/qr/render"
	"posagent/qr/scan"
	"posagent/uplink/acqsim"
)

// Amounts of the demo day (EUR cents). The acquirer simulator declines
// demoDecline (response code 51); the floor limit lets the two offline
// amounts be approved while the acquirer is down.
const (
	demoVisa       = 1234
	demoMastercard = 2345
	demoUnionPay   = 888
	demoDecline    = 5100
	demoOffline1   = 1500
	demoOffline2   = 990
	demoRefund     = 500
	demoQR         = 660
	demoPreAuth    = 5000
	demoCapture    = 4250
	demoFloor      = 4000
	demoQRPhone    = 1888 // the customer's wallet code, scanned
	demoQRShop     = 2750 // the shop's dynamic code, paid by the wallet
)

// The demo's QR inputs: a watched folder as the daemon's scanner (the
// "camera" the customer's phone is held to), and the wallet code on it.
const (
	demoScanner    = "camera"
	demoWalletCode = "281234567890123456" // an Alipay payment code (18 digits, 28...)
)

// demoTransport carries the demo's API calls (nil: the default); tests
// set one that checks them against openapi.yaml.
var demoTransport http.RoundTripper

const demoRules = `{"rules": [{"name": "insufficient funds", "mti": ["0200", "0100"], "amount": 5100, "response_code": "51"}]}`

// demoStep is one step of the day as `posagent demo --json` prints it.
type demoStep struct {
	Step    int            `json:"step"`
	Title   string         `json:"title"`
	Text    string         `json:"text"`
	Payment *agent.Payment `json:"payment,omitempty"`
	Card    *emv.Report    `json:"card,omitempty"` // the kernel's masked report of the tap
}

// demoJournal is what the acquirer simulator journalled, per kind.
type demoJournal struct {
	Records    int              `json:"records"`
	Duplicates int              `json:"duplicates"`
	ByKind     map[string]int   `json:"by_kind"`
	Net        map[string]int64 `json:"net"`
}

// demoReport is `posagent demo --json`.
type demoReport struct {
	Acquirer string        `json:"acquirer"`
	API      string        `json:"api"`
	Steps    []demoStep    `json:"steps"`
	Totals   *agent.Totals `json:"totals"`
	Journal  *demoJournal  `json:"journal"`
	// Agree: the agent's net per currency equals the acquirer's.
	Agree   bool    `json:"agree"`
	Seconds float64 `json:"seconds"`
	KeptDir string  `json:"kept_dir,omitempty"`
}

// demoTaps keeps the kernel report of the last tap (the engine's Tap
// observation), so the demo can show ODA and kernel facts the payment
// record does not carry.
type demoTaps struct {
	agent.Observer
	mu   sync.Mutex
	last *emv.Report
}

func (r *demoTaps) Tap(input string, d time.Duration, rep emv.Report) {
	r.mu.Lock()
	r.last = &rep
	r.mu.Unlock()
	r.Observer.Tap(input, d, rep)
}

func (r *demoTaps) take() *emv.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := r.last
	r.last = nil
	return rep
}

// runDemo plays a payment day through the local API: it starts the
// acquirer simulator with fresh certificates and `posagent serve` (in
// process, simulated reader, a floor limit), then drives them as a cashier
// program would, over HTTP.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("posagent demo", flag.ContinueOnError)
	flags.SetOutput(stderr)
	asJSON := flags.Bool("json", false, "print one JSON object instead of the steps")
	keep := flags.String("keep", "", "keep the daemon running on this directory after the day (certificates, data, keys, journal) and print curl lines; stop with Ctrl-C")
	timeout := flags.Duration("timeout", 60*time.Second, "give up after this long")
	verbose := flags.Bool("v", false, "log the daemon and the acquirer simulator to stderr")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: posagent demo [--json] [--keep DIR] [-v]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "posagent demo: unexpected argument %q\n", flags.Arg(0))
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "posagent demo: %v\n", err)
		return 1
	}
	started := time.Now()
	dayCtx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	dir := *keep
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fail(err)
		}
		if entries, err := os.ReadDir(dir); err != nil {
			return fail(err)
		} else if len(entries) > 0 {
			fmt.Fprintf(stderr, "posagent demo: --keep %s: directory is not empty\n", dir)
			return 2
		}
	} else {
		var err error
		if dir, err = os.MkdirTemp("", "posagent-demo-"); err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
	}
	logOut := io.Discard
	if *verbose {
		logOut = stderr
	}

	// The acquirer simulator.
	acq, err := startAcquirer(dir, demoRules, logOut)
	if err != nil {
		return fail(err)
	}
	defer acq.close()

	// The daemon, on a demo config.
	cfgFile, err := writeDemoConfig(dir, acq.addr)
	if err != nil {
		return fail(err)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		return fail(err)
	}
	taps := &demoTaps{}
	d, err := startDaemon(cfg, logOut, daemonHooks{wrapObserver: func(o agent.Observer) agent.Observer {
		taps.Observer = o
		return taps
	}})
	if err != nil {
		return fail(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			d.stop()
		}
	}()
	base := "http://" + d.listeners[0].Addr().String()
	c := &api.Client{BaseURL: base, Token: d.token, HTTP: &http.Client{Transport: demoTransport}}
	p := &demoPlayer{ctx: dayCtx, c: c, out: stdout, quiet: *asJSON, taps: taps, acq: acq,
		rep: &demoReport{Acquirer: acq.addr, API: base}, camera: demoScannerDir(dir)}
	p.say("acquirer", nil, nil, "acquirer simulator on %s: ISO 8583 over mutual TLS, fresh certificates, journal %s", acq.addr, acq.journalPath)
	p.say("daemon", nil, nil, "posagent serve on %s: simulated reader, floor limit %s, data %s, keys %s (apart)",
		base, eur(demoFloor), cfg.DataDir, cfg.KeyDir)
	if err := p.waitUplink(true); err != nil {
		return fail(err)
	}
	if err := p.day(); err != nil {
		return fail(err)
	}

	// Totals next to the journal.
	tot, err := c.Totals(dayCtx, time.Time{})
	if err != nil {
		return fail(err)
	}
	p.rep.Totals = &tot
	j, err := readDemoJournal(acq.journalPath)
	if err != nil {
		return fail(err)
	}
	p.rep.Journal = j
	p.rep.Agree = fmt.Sprint(tot.Net) == fmt.Sprint(j.Net)
	p.say("totals", nil, nil, "%s", demoTotalsText(tot, j, p.rep.Agree))
	p.rep.Seconds = time.Since(started).Seconds()

	if *keep != "" {
		p.rep.KeptDir = dir
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p.rep); err != nil {
			return fail(err)
		}
	} else {
		fmt.Fprintf(stdout, "day done in %.1f s: %d steps through the local API; totals %s the acquirer's journal\n",
			p.rep.Seconds, len(p.rep.Steps), map[bool]string{true: "agree with", false: "DISAGREE with"}[p.rep.Agree])
	}
	if !p.rep.Agree {
		return 1
	}
	if *keep != "" {
		fmt.Fprint(stdout, demoCurlLines(base, filepath.Join(cfg.KeyDir, config.APITokenName), cfgFile))
		<-ctx.Done()
		fmt.Fprintln(stdout, "stopping the daemon")
	}
	stopped = true
	if err := d.stop(); err != nil {
		return fail(err)
	}
	return 0
}

// writeDemoConfig writes the daemon's demo config into dir.
func writeDemoConfig(dir, acqAddr string) (string, error) {
	f := acqsim.ClientTLSFiles(filepath.Join(dir, "acquirer-tls"))
	text := fmt.Sprintf(`# posagent demo config (written by posagent demo)
data_dir = %q
key_dir = %q

[terminal]
merchant_name = "POSAGENT DEMO SHOP"
test_keys = true   # the simulated cards are signed by posagent's test CAs

[acquirer]
address = %q
client_cert = %q
client_key = %q
ca = %q
response_timeout = "3s"
connect_timeout = "1s"

[offline]
policy = "allow"
floor_limit = %d

[offline.limits.EUR]
per_transaction = %d
total_amount = 10000
count = 10

[readers]
pcsc = false

[readers.simulated]
enabled = true
card = "visa"
qr = true          # a simulated QR scanner too (POST /v1/simulator/scan)

# The customer's phone is "held to the camera": a watched folder the demo
# writes the rendered wallet code into.
[[readers.scanner]]
name = %q
dir = %q

# Merchant-presented codes (method qr_merchant) for the customer display.
[qr]
merchant = true
city = "PARIS"
country = "FR"
poll = "100ms"
timeout = "15s"

[api]
listen = "127.0.0.1:0"
payment_timeout = "20s"
`, filepath.Join(dir, "data"), filepath.Join(dir, "keys"), acqAddr, f.CertFile, f.KeyFile, f.CAFile, demoFloor, demoFloor,
		demoScanner, demoScannerDir(dir))
	if err := os.MkdirAll(demoScannerDir(dir), 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "posagent.toml")
	return path, os.WriteFile(path, []byte(text), 0o600)
}

// demoScannerDir is the folder the demo daemon's scanner watches.
func demoScannerDir(dir string) string { return filepath.Join(dir, "camera") }

// demoPlayer plays the day and records its steps.
type demoPlayer struct {
	ctx    context.Context
	c      *api.Client
	out    io.Writer
	quiet  bool
	taps   *demoTaps
	acq    *localAcquirer
	rep    *demoReport
	camera string // the scanner's folder
}

func (p *demoPlayer) say(title string, pay *agent.Payment, card *emv.Report, format string, a ...any) {
	s := demoStep{Step: len(p.rep.Steps) + 1, Title: title, Text: fmt.Sprintf(format, a...), Payment: pay, Card: card}
	p.rep.Steps = append(p.rep.Steps, s)
	if !p.quiet {
		fmt.Fprintf(p.out, "%2d. %s\n", s.Step, s.Text)
	}
}

// present chooses the simulated card of the next payment through the API.
func (p *demoPlayer) present(card string) error { return p.feed("present", "card", card) }

// feed gives a simulated input its next card or code through the API
// (POST /v1/simulator/present or /scan).
func (p *demoPlayer) feed(route, field, value string) error {
	body, _ := json.Marshal(map[string]string{field: value})
	req, err := http.NewRequestWithContext(p.ctx, http.MethodPost, p.c.BaseURL+"/v1/simulator/"+route, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.c.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.c.HTTP.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("simulator %s %s: HTTP %d", route, value, resp.StatusCode)
	}
	return nil
}

// pay presents card and takes a payment; want is the state it must end in.
func (p *demoPlayer) pay(title, card string, b api.PaymentBody, want agent.State) (agent.Payment, error) {
	if err := p.present(card); err != nil {
		return agent.Payment{}, err
	}
	pay, err := p.c.Pay(p.ctx, b)
	if err != nil {
		return pay, fmt.Errorf("%s: %w", title, err)
	}
	if pay.State != want {
		return pay, fmt.Errorf("%s: payment %s is %s (%s), want %s", title, pay.ID, pay.State, pay.Reason, want)
	}
	rep := p.taps.take()
	p.say(title, &pay, rep, "%s %s: %s%s — card %s (%s), %s", title, eur(pay.Amount), pay.State, payFacts(pay), pay.MaskedPAN, pay.Label, tapFacts(rep))
	return pay, nil
}

// payQR takes a payment on the simulated QR scanner: the customer's
// WeChat Pay code, scanned by the till (consumer-presented), goes online.
func (p *demoPlayer) payQR(b api.PaymentBody) error {
	b.Reader = "qr-simulated"
	pay, err := p.c.Start(p.ctx, b)
	if err != nil {
		return fmt.Errorf("QR: %w", err)
	}
	code := fmt.Sprintf("134567%012d", time.Now().UnixNano()%1e12)
	if err := p.feed("scan", "code", code); err != nil {
		return err
	}
	if pay, err = p.c.Wait(p.ctx, pay.ID); err != nil || pay.State != agent.StateApproved {
		return fmt.Errorf("QR: payment %s is %s (%s) %v, want approved", pay.ID, pay.State, pay.Reason, err)
	}
	p.say("QR", &pay, nil, "QR %s: %s%s — %s code scanned (consumer-presented, entry mode %s)", eur(pay.Amount), pay.State, payFacts(pay), pay.Scheme, pay.EntryMode)
	return nil
}

func payFacts(p agent.Payment) string {
	var parts []string
	if p.AuthCode != "" {
		parts = append(parts, "auth code "+p.AuthCode)
	}
	if p.Response != "" {
		parts = append(parts, "response "+p.Response)
	}
	if p.STAN != "" {
		parts = append(parts, "STAN "+p.STAN)
	}
	if p.Reason != "" {
		parts = append(parts, "reason "+p.Reason)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func tapFacts(rep *emv.Report) string {
	if rep == nil {
		return "no tap report"
	}
	oda := "no ODA"
	if rep.ODA != nil {
		oda = "ODA " + rep.ODA.Method + " " + rep.ODA.Result
	}
	return fmt.Sprintf("kernel %s, %s, CVM %s, cryptogram %s", demoOr(string(rep.Kernel), "?"), oda, demoOr(string(rep.CVM), "none"), demoOr(string(rep.Cryptogram), "none"))
}

func demoOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func eur(minor int64) string {
	c, _ := money.Parse("EUR")
	return c.Format(minor)
}

func (p *demoPlayer) waitUplink(up bool) error {
	for {
		st, err := p.c.Status(p.ctx)
		if err == nil && st.Uplink.Up == up {
			return nil
		}
		select {
		case <-p.ctx.Done():
			return fmt.Errorf("uplink up=%v not reached: %w", up, p.ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// day is the list of what the cashier does.
func (p *demoPlayer) day() error {
	ctx := p.ctx
	id := func(s string) string { return "demo-" + s }
	body := func(name string, amount int64) api.PaymentBody {
		return api.PaymentBody{ID: id(name), Amount: amount, Currency: "EUR", Reference: "demo " + name}
	}
	visa, err := p.pay("Visa", "visa", body("visa", demoVisa), agent.StateApproved)
	if err != nil {
		return err
	}
	if _, err := p.pay("Mastercard", "mastercard", body("mastercard", demoMastercard), agent.StateApproved); err != nil {
		return err
	}
	up, err := p.pay("UnionPay", "unionpay", body("unionpay", demoUnionPay), agent.StateApproved)
	if err != nil {
		return err
	}
	if _, err := p.pay("Issuer decline", "visa", body("decline", demoDecline), agent.StateDeclined); err != nil {
		return err
	}
	if err := p.payQR(body("qr", demoQR)); err != nil {
		return err
	}

	// The acquirer goes down: offline approvals within the floor limit.
	p.acq.srv.SetFault(acqsim.Fault{Kind: acqsim.FaultDown})
	p.acq.srv.DropConnections()
	if err := p.waitUplink(false); err != nil {
		return err
	}
	p.say("acquirer down", nil, nil, "acquirer simulator goes down (connections refused); GET /v1/status: uplink down")
	if _, err := p.pay("Offline", "visa", body("offline-1", demoOffline1), agent.StateApprovedOffline); err != nil {
		return err
	}
	if _, err := p.pay("Offline", "mastercard", body("offline-2", demoOffline2), agent.StateApprovedOffline); err != nil {
		return err
	}
	q, err := p.c.Queue(ctx)
	if err != nil {
		return err
	}
	p.say("queue", nil, nil, "GET /v1/queue: %s", queueText(q))

	// Back up: the forwarder sends each advice once.
	p.acq.srv.SetFault(acqsim.Fault{})
	if err := p.waitUplink(true); err != nil {
		return err
	}
	if err := p.drain(); err != nil {
		return err
	}
	j, err := readDemoJournal(p.acq.journalPath)
	if err != nil {
		return err
	}
	p.say("acquirer back", nil, nil, "acquirer back; POST /v1/queue/forward: queue drained; journal: %d advice(s), %d duplicate(s)", j.ByKind[acqsim.KindAdvice], j.Duplicates)
	if j.ByKind[acqsim.KindAdvice] != 2 || j.Duplicates != 0 {
		return fmt.Errorf("advices forwarded %d times (duplicates %d), want exactly 2", j.ByKind[acqsim.KindAdvice], j.Duplicates)
	}

	// Refund, void, pre-authorisation and capture.
	rf, err := p.c.Refund(ctx, api.RefundBody{ID: id("refund"), PaymentID: visa.ID, Amount: demoRefund})
	if err != nil || rf.State != agent.StateRefunded {
		return fmt.Errorf("refund: %s %v", rf.State, err)
	}
	p.say("refund", &rf, nil, "Refund %s of %s: %s%s", eur(rf.Amount), visa.ID, rf.State, payFacts(rf))
	vd, err := p.c.Void(ctx, up.ID)
	if err != nil || vd.State != agent.StateVoided {
		return fmt.Errorf("void: %s %v", vd.State, err)
	}
	p.say("void", &vd, nil, "Void of %s (%s): %s, reversal sent once", up.ID, eur(up.Amount), vd.State)
	pre := body("preauth", demoPreAuth)
	pre.Capture = agent.CaptureManual
	pa, err := p.pay("Pre-authorisation", "visa", pre, agent.StateApproved)
	if err != nil {
		return err
	}
	cp, err := p.c.Capture(ctx, pa.ID, demoCapture)
	if err != nil || cp.State != agent.StateCaptured {
		return fmt.Errorf("capture: %s %v", cp.State, err)
	}
	// The capture's completion goes to the acquirer through the queue.
	if err := p.drain(); err != nil {
		return err
	}
	p.say("capture", &cp, nil, "Capture of %s: %s of %s authorised, %s; completion forwarded", pa.ID, eur(cp.Captured), eur(pa.Amount), cp.State)

	// QR payments, one of each kind.
	if err := p.qrPhone(body("qr-phone", demoQRPhone)); err != nil {
		return err
	}
	return p.qrShop(body("qr-shop", demoQRShop))
}

// qrPhone is a consumer-presented payment: the customer's wallet code,
// rendered into an image, appears in the scanner's folder; the daemon
// decodes it, classifies it and authorises it online.
func (p *demoPlayer) qrPhone(b api.PaymentBody) error {
	b.Reader = demoScanner
	pay, err := p.c.Start(p.ctx, b)
	if err != nil {
		return fmt.Errorf("QR (phone): %w", err)
	}
	code, err := render.New(demoWalletCode)
	if err != nil {
		return err
	}
	png, err := code.PNG(320)
	if err != nil {
		return err
	}
	// Written aside, then renamed in: the scanner sees a whole image.
	tmp := filepath.Join(p.camera, ".phone.tmp")
	if err := os.WriteFile(tmp, png, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(p.camera, "phone.png")); err != nil {
		return err
	}
	if pay, err = p.c.Wait(p.ctx, pay.ID); err != nil {
		return fmt.Errorf("QR (phone): %w", err)
	}
	if pay.State != agent.StateApproved {
		return fmt.Errorf("QR (phone): payment %s is %s (%s), want approved", pay.ID, pay.State, pay.Reason)
	}
	p.say("QR (phone)", &pay, nil, "QR (customer's phone) %s: %s%s — %s code read by scanner %q (%s), online only",
		eur(pay.Amount), pay.State, payFacts(pay), pay.Scheme, pay.Reader, pay.EntryMode)
	return nil
}

// qrShop is a merchant-presented payment: the display fetches the
// payment's code, the customer's wallet decodes and pays it at the
// acquirer, and the daemon's status requests learn it.
func (p *demoPlayer) qrShop(b api.PaymentBody) error {
	b.Method = agent.MethodQRMerchant
	pay, err := p.c.Start(p.ctx, b)
	if err != nil {
		return fmt.Errorf("QR (shop): %w", err)
	}
	text, err := fetchQRCode(p.ctx, p.c.HTTP, p.c.BaseURL+"/v1/payments/"+pay.ID+"/qr.png")
	if err != nil {
		return fmt.Errorf("QR (shop): the display: %w", err)
	}
	if text != pay.QRPayload {
		return fmt.Errorf("QR (shop): the display shows another code than the payment's")
	}
	paid, err := p.acq.srv.PayQR(text)
	if err != nil {
		return fmt.Errorf("QR (shop): the wallet: %w", err)
	}
	if pay, err = p.c.Wait(p.ctx, pay.ID); err != nil {
		return fmt.Errorf("QR (shop): %w", err)
	}
	if pay.State != agent.StateApproved {
		return fmt.Errorf("QR (shop): payment %s is %s (%s), want approved", pay.ID, pay.State, pay.Reason)
	}
	p.say("QR (shop)", &pay, nil, "QR (shop's code) %s: %s%s — GET qr.png decoded by the wallet, paid to %s (wallet auth %s), confirmed by status requests",
		eur(pay.Amount), pay.State, payFacts(pay), paid.Merchant, paid.AuthCode)
	return nil
}

// fetchQRCode GETs a payment's qr.png (as a customer display does, without
// a token) and decodes it with qr/scan's decoder (gozxing).
func fetchQRCode(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	img, err := scan.DecodeImage(resp.Body)
	if err != nil {
		return "", err
	}
	res, err := (&scan.Decoder{}).Decode(img)
	if err != nil {
		return "", err
	}
	return res.Text, nil
}

// drain forwards the queue until nothing waits in it.
func (p *demoPlayer) drain() error {
	for {
		if _, err := p.c.Forward(p.ctx); err != nil {
			return err
		}
		st, err := p.c.Status(p.ctx)
		if err != nil {
			return err
		}
		if st.Queue.ByState["pending"]+st.Queue.ByState["in-flight"]+st.Queue.ByState["held"] == 0 {
			return nil
		}
		select {
		case <-p.ctx.Done():
			return fmt.Errorf("queue not forwarded: %w", p.ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func queueText(q []agent.QueueEntry) string {
	if len(q) == 0 {
		return "empty"
	}
	var parts []string
	for _, e := range q {
		parts = append(parts, fmt.Sprintf("%s %s %s (%s)", e.Kind, e.Payment, eur(e.Amount), e.State))
	}
	return fmt.Sprintf("%d entr%s: %s", len(q), map[bool]string{true: "y", false: "ies"}[len(q) == 1], strings.Join(parts, "; "))
}

func readDemoJournal(path string) (*demoJournal, error) {
	t, err := acqsim.ReadTotals(path)
	if err != nil {
		return nil, err
	}
	j := &demoJournal{Records: t.Records, Duplicates: t.Duplicates, ByKind: map[string]int{}, Net: map[string]int64{}}
	for k, v := range t.ByKind {
		j.ByKind[k] = v.Count
	}
	for cur, n := range t.Net {
		c, err := money.Parse(cur)
		if err != nil {
			return nil, err
		}
		j.Net[c.Code()] = n
	}
	return j, nil
}

func demoTotalsText(t agent.Totals, j *demoJournal, agree bool) string {
	var b strings.Builder
	b.WriteString("GET /v1/totals (today):\n")
	rows := append([]agent.TotalRow(nil), t.Rows...)
	sort.Slice(rows, func(i, k int) bool {
		return rows[i].State < rows[k].State || rows[i].State == rows[k].State && rows[i].Scheme < rows[k].Scheme
	})
	for _, r := range rows {
		fmt.Fprintf(&b, "      %-17s %-9s %-11s %2d  %s\n", r.State, r.Kind, demoOr(r.Scheme, "-"), r.Count, eur(r.Amount))
	}
	var kinds []string
	for k, n := range j.ByKind {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	fmt.Fprintf(&b, "      agent net %s | acquirer journal: %s, net %s: %s",
		eur(t.Net["EUR"]), strings.Join(kinds, ", "), eur(j.Net["EUR"]), map[bool]string{true: "agree", false: "DISAGREE"}[agree])
	return b.String()
}

func demoCurlLines(base, tokenFile, cfgFile string) string {
	return fmt.Sprintf(`
The daemon keeps running (config %s). Call it:
  TOKEN=$(cat %s)
  curl -s -H "Authorization: Bearer $TOKEN" %s/v1/status
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' %s/v1/payments -d '{"id":"try-1","amount":1999,"currency":"EUR"}'
  curl -s -H "Authorization: Bearer $TOKEN" %s/v1/payments/try-1
  curl -s -H "Authorization: Bearer $TOKEN" %s/v1/totals
  curl -sN -H "Authorization: Bearer $TOKEN" %s/v1/events
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' %s/v1/simulator/present -d '{"card":"mastercard"}'
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' %s/v1/payments -d '{"id":"try-qr","amount":1250,"currency":"EUR","method":"qr_merchant","wait":false}'
  curl -s %s/v1/payments/try-qr/qr.png -o try-qr.png   # the shop's code (no token: a customer display)
Ctrl-C stops it.
`, cfgFile, tokenFile, base, base, base, base, base, base, base, base)
}
