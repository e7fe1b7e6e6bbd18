package qrscan_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/creack/pty"

	"posagent/agent"
	"posagent/agent/input/qrscan"
	"posagent/offline"
	"posagent/qr/scan"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

// TestEngineConsumerPresented runs consumer-presented QR payments through
// the real engine: a serial barcode scanner on a real pseudo-terminal,
// the engine's bbolt file, the uplink over mutual TLS to the real acquirer
// simulator with its fsync'd journal.
func TestEngineConsumerPresented(t *testing.T) {
	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	if err := acqsim.InitCerts(tlsDir); err != nil {
		t.Fatal(err)
	}
	journalPath := filepath.Join(dir, "journal.jsonl")
	j, err := acqsim.OpenJournal(journalPath)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	stls, err := acqsim.ServerTLS(tlsDir)
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := acqsim.ParseRules([]byte(`{"rules":[{"qr_format":["alipay"],"min_amount":100000,"response_code":"51"}]}`))
	srv, err := acqsim.NewServer(acqsim.Config{TLS: stls, Journal: j, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	sp, err := scan.OpenSerial(tty.Name(), scan.SerialOptions{Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	in := qrscan.New("till-scanner", scan.NewTextScanner(sp, scan.Options{}))
	defer in.Close()
	ctls, err := acqsim.ClientTLSFiles(tlsDir).Load()
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "keys"), 0o700)
	eng, err := agent.Open(agent.Config{
		DataFile: filepath.Join(dir, "data", offline.DBFileName),
		Store: offline.Options{KeyFile: filepath.Join(dir, "keys", offline.KeyFileName),
			SecretFile: filepath.Join(dir, "keys", offline.SecretFileName)},
		Acquirer: &uplink.Config{Addr: addr.String(), TLS: ctls, AcquirerID: "12345",
			ResponseTimeout: 2 * time.Second, ConnectWait: 300 * time.Millisecond},
		Scanners:    []agent.Scanner{in},
		ClassifyQR:  qrscan.Classify,
		CardTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for deadline := time.Now().Add(10 * time.Second); !eng.Status().Uplink.Up; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("uplink not up")
		}
	}
	pay := func(id string, amount int64, code string) agent.Payment {
		t.Helper()
		p, err := eng.Start(ctx, agent.PaymentRequest{ID: id, Amount: amount, Currency: "CNY"})
		if err != nil {
			t.Fatal(err)
		}
		for p.State != agent.StateWaitingForCard {
			time.Sleep(5 * time.Millisecond)
			if p, err = eng.Get(id); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(50 * time.Millisecond) // the scanner is being read
		ptmx.Write([]byte(code + "\r"))
		p, err = eng.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		id, code string
		amount   int64
		state    agent.State
		scheme   string
	}{
		{"qr-wechat", "134567890123456789", 1500, agent.StateApproved, "wechat-pay"},
		{"qr-alipay-big", "281234567890123456", 200000, agent.StateDeclined, "alipay"},
		{"qr-unionpay", "6212345678901234567", 2500, agent.StateApproved, "unionpay"},
		{"qr-merchant-code", "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D", 100, agent.StateDeclined, ""},
	}
	for _, c := range cases {
		p := pay(c.id, c.amount, c.code)
		if p.State != c.state || p.Scheme != c.scheme {
			t.Errorf("%s: state %s scheme %q reason %s (%s), want %s %q", c.id, p.State, p.Scheme, p.Reason, p.Message, c.state, c.scheme)
		}
		if c.scheme == "" && p.Reason != agent.ReasonQRUnsupported {
			t.Errorf("%s: reason %s", c.id, p.Reason)
		}
	}
	raw, _ := os.ReadFile(journalPath)
	if !bytes.Contains(raw, []byte(`"qr_format":"wechat-pay"`)) || bytes.Contains(raw, []byte("134567890123456789")) {
		t.Fatalf("journal:\n%s", raw)
	}
}

// The engine's interfaces, checked at compile time.
var (
	_ agent.Scanner      = (*qrscan.Input)(nil)
	_ agent.QRClassifier = qrscan.Classify
)
