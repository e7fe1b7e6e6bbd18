package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/agent"
	"posagent/agent/api"
	"posagent/agent/api/apitest"
	"posagent/emv/cardsim"
	"posagent/internal/syncbuf"
	"posagent/uplink/acqsim"
)

// demoRun runs `posagent demo args...` in process, its API calls checked
// against openapi.yaml.
func demoRun(t *testing.T, ctx context.Context, stdout *syncbuf.Buffer, args ...string) (code int, stderr string) {
	t.Helper()
	demoTransport = apitest.Transport(t, nil)
	defer func() { demoTransport = nil }()
	var errb bytes.Buffer
	code = runDemo(ctx, args, stdout, &errb)
	return code, errb.String()
}

// demoCheckNoPAN fails if a simulated card's full PAN appears in s.
func demoCheckNoPAN(t *testing.T, s string) {
	t.Helper()
	for _, n := range []string{"visa", "mastercard", "unionpay"} {
		p, err := cardsim.Preset(n)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(s, p.PAN) {
			t.Errorf("output holds the full PAN of %s", n)
		}
	}
}

func TestDemoDayJSON(t *testing.T) {
	var out syncbuf.Buffer
	start := time.Now()
	code, errs := demoRun(t, context.Background(), &out, "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s\nstdout: %s", code, errs, out.String())
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the day took %v, want under 30 s", d)
	}
	demoCheckNoPAN(t, out.String()+errs)
	// The report as a client reads it (emv.Report prints, it does not parse).
	var rep struct {
		demoReport
		Steps []struct {
			demoStep
			Card *struct {
				Kernel string `json:"kernel"`
				ODA    *struct{ Method, Result string }
			} `json:"card"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out.String())
	}
	if !rep.Agree || rep.Totals == nil || rep.Journal == nil {
		t.Fatalf("totals do not agree: %+v %+v", rep.Totals, rep.Journal)
	}
	// What each step left, by title.
	want := []struct {
		title  string
		state  agent.State
		scheme string
	}{
		{"Visa", agent.StateApproved, "visa"}, {"Mastercard", agent.StateApproved, "mastercard"},
		{"UnionPay", agent.StateApproved, "unionpay"}, {"Issuer decline", agent.StateDeclined, "visa"},
		{"QR", agent.StateApproved, "wechat-pay"},
		{"Offline", agent.StateApprovedOffline, "visa"}, {"Offline", agent.StateApprovedOffline, "mastercard"},
		{"refund", agent.StateRefunded, ""}, {"void", agent.StateVoided, "unionpay"},
		{"Pre-authorisation", agent.StateApproved, "visa"}, {"capture", agent.StateCaptured, "visa"},
		{"QR (phone)", agent.StateApproved, "alipay"}, {"QR (shop)", agent.StateApproved, "emvco-mpm"},
	}
	i := 0
	for _, s := range rep.Steps {
		if s.Payment == nil {
			continue
		}
		if i >= len(want) {
			t.Fatalf("extra payment step %+v", s)
		}
		w := want[i]
		if s.Title != w.title || s.Payment.State != w.state || (w.scheme != "" && s.Payment.Scheme != w.scheme) {
			t.Errorf("step %d: %s %s %s, want %s %s %s", s.Step, s.Title, s.Payment.State, s.Payment.Scheme, w.title, w.state, w.scheme)
		}
		i++
	}
	if i != len(want) {
		t.Fatalf("%d payment steps, want %d", i, len(want))
	}
	// Mastercard went through CDA, as the kernel reported it.
	for _, s := range rep.Steps {
		if s.Title == "Mastercard" && (s.Card == nil || s.Card.ODA == nil || s.Card.ODA.Method != "CDA" || s.Card.ODA.Result != "ok" || s.Card.Kernel != "C-2") {
			t.Errorf("mastercard tap: %+v", s.Card)
		}
	}
	// Forwarded exactly once: 2 offline advices and the capture's completion.
	if j := rep.Journal; j.ByKind[acqsim.KindAdvice] != 3 || j.Duplicates != 0 || j.ByKind[acqsim.KindReversal] != 1 {
		t.Errorf("journal %+v", j)
	}
	// The wallet paid the shop's code once; the QR payments went online.
	if j := rep.Journal; j.ByKind[acqsim.KindWallet] != 1 || j.ByKind[acqsim.KindFinancial] != 7 {
		t.Errorf("journal %+v", j)
	}
	for _, s := range rep.Steps {
		if s.Payment != nil && strings.HasPrefix(s.Title, "QR") && (s.Payment.Reason != "" || !strings.HasPrefix(s.Payment.EntryMode, "qr_")) {
			t.Errorf("%s: %+v", s.Title, s.Payment)
		}
	}
	if rep.Totals.Net["EUR"] != 1234+2345+660+1500+990+4250-500+1888+2750 {
		t.Errorf("net %v", rep.Totals.Net)
	}
}

func TestDemoDayText(t *testing.T) {
	var out syncbuf.Buffer
	code, errs := demoRun(t, context.Background(), &out)
	s := out.String()
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s\nstdout: %s", code, errs, s)
	}
	t.Logf("stdout:\n%s", s)
	demoCheckNoPAN(t, s+errs)
	for _, re := range []string{
		`(?m)^ 3\. Visa 12\.34 EUR: approved \(auth code \d{6}, response 00, STAN \d{6}\) — card 476173\*+0010`,
		`(?m)^ 4\. Mastercard 23\.45 EUR: approved .* kernel C-2, ODA CDA ok`,
		`(?m)^ 5\. UnionPay 8\.88 EUR: approved .* kernel C-7`,
		`(?m)^ 6\. Issuer decline 51\.00 EUR: declined \(response 51`,
		`(?m)^ 7\. QR 6\.60 EUR: approved .* wechat-pay code scanned \(consumer-presented`,
		`(?m)^ 9\. Offline 15\.00 EUR: approved_offline`,
		`(?m)^12\. acquirer back.*journal: 2 advice\(s\), 0 duplicate\(s\)`,
		`(?m)^17\. QR \(customer's phone\) 18\.88 EUR: approved .* alipay code read by scanner "camera" \(qr_consumer\)`,
		`(?m)^18\. QR \(shop's code\) 27\.50 EUR: approved .* GET qr\.png decoded by the wallet`,
		`(?m)^19\. GET /v1/totals`,
		`net 151\.17 EUR \| acquirer journal: .*wallet 1.*net 151\.17 EUR: agree`,
		`(?m)^day done in \d+\.\d s: 19 steps through the local API; totals agree`,
	} {
		if !regexp.MustCompile(re).MatchString(s) {
			t.Errorf("output lacks %s", re)
		}
	}
}

// signalWriter is a buffer that closes seen once it holds want.
type signalWriter struct {
	syncbuf.Buffer
	want string
	once sync.Once
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	if strings.Contains(w.Buffer.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

func TestDemoKeep(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kept")
	out := &signalWriter{want: "Ctrl-C stops it", seen: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var errs string
	go func() {
		var errb bytes.Buffer
		done <- runDemo(ctx, []string{"--keep", dir}, out, &errb)
		errs = errb.String()
	}()
	select {
	case <-out.seen:
	case code := <-done:
		t.Fatalf("demo --keep ended with %d before serving: %s", code, errs)
	case <-time.After(60 * time.Second):
		t.Fatal("demo --keep did not get to the curl lines")
	}
	// The printed token file and address work while the daemon is up.
	s := out.String()
	m := regexp.MustCompile(`TOKEN=\$\(cat (\S+)\)\n\s+curl -s -H "Authorization: Bearer \$TOKEN" (http://\S+)/v1/status`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no curl lines:\n%s", s)
	}
	tok, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatal(err)
	}
	c := &api.Client{BaseURL: m[2], Token: strings.TrimSpace(string(tok)), HTTP: &http.Client{Transport: apitest.Transport(t, nil)}}
	p, err := c.Get(context.Background(), "demo-mastercard")
	if err != nil || p.State != agent.StateApproved {
		t.Fatalf("GET after the day: %+v %v", p, err)
	}
	// The printed merchant-presented lines work: the code is on qr.png
	// (the daemon stops it at Ctrl-C).
	if !strings.Contains(s, `"method":"qr_merchant"`) {
		t.Fatalf("no qr_merchant curl line:\n%s", s)
	}
	qp, err := c.Start(context.Background(), api.PaymentBody{ID: "try-qr", Amount: 1250, Currency: "EUR", Method: agent.MethodQRMerchant})
	if err != nil {
		t.Fatal(err)
	}
	if text, err := fetchQRCode(context.Background(), c.HTTP, m[2]+"/v1/payments/try-qr/qr.png"); err != nil || text != qp.QRPayload {
		t.Fatalf("qr.png: %q %v, payment has %q", text, err, qp.QRPayload)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "journal.jsonl")); err != nil {
		t.Fatalf("--keep dir: %v", err)
	}
	// A kept directory is not reused.
	var errb bytes.Buffer
	if code := runDemo(context.Background(), []string{"--keep", dir}, &bytes.Buffer{}, &errb); code != 2 || !strings.Contains(errb.String(), "not empty") {
		t.Fatalf("reused --keep: %d %s", code, errb.String())
	}
}
