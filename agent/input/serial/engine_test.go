package serial_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"posagent/agent"
	"posagent/offline"
	"posagent/reader/serial/device"
	"posagent/reader/serial/device/devicetest"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

// acquirer starts the acquirer simulator (approve everything) on loopback
// and returns the uplink configuration and its journal path.
func acquirer(t *testing.T) (*uplink.Config, string) {
	t.Helper()
	dir := t.TempDir()
	if err := acqsim.InitCerts(filepath.Join(dir, "tls")); err != nil {
		t.Fatal(err)
	}
	jpath := filepath.Join(dir, "journal.jsonl")
	j, err := acqsim.OpenJournal(jpath)
	if err != nil {
		t.Fatal(err)
	}
	stls, err := acqsim.ServerTLS(filepath.Join(dir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := acqsim.NewServer(acqsim.Config{TLS: stls, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); j.Close() })
	ctls, err := acqsim.ClientTLSFiles(filepath.Join(dir, "tls")).Load()
	if err != nil {
		t.Fatal(err)
	}
	return &uplink.Config{Addr: a.String(), TLS: ctls, AcquirerID: "12345", ResponseTimeout: 3 * time.Second,
		ConnectWait: 300 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}, jpath
}

func openEngine(t *testing.T, in agent.Reader, acq *uplink.Config) *agent.Engine {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	term := devicetest.Terminal().Config
	eng, err := agent.Open(agent.Config{DataFile: filepath.Join(dir, offline.DBFileName), Terminal: &term,
		Store: offline.Options{KeyFile: filepath.Join(dir, "keys", offline.KeyFileName), SecretFile: filepath.Join(dir, "keys", offline.SecretFileName),
			Limits: map[string]offline.Limit{"*": {PerTransaction: 5000}}},
		Acquirer: acq, Readers: []agent.Reader{in}, CardTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(context.Background()) })
	if acq != nil {
		deadline := time.Now().Add(10 * time.Second)
		for !eng.Status().Uplink.Up {
			if time.Now().After(deadline) {
				t.Fatal("uplink not up")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return eng
}

// TestEnginePaymentOnDongle: a payment of the engine on a software card in
// a software dongle over a real pty, online to the acquirer simulator.
func TestEnginePaymentOnDongle(t *testing.T) {
	in, s := newInput(t, device.Options{NewCard: devicetest.SoftCard(t, "mastercard")})
	acq, jpath := acquirer(t)
	eng := openEngine(t, in, acq)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := eng.Pay(ctx, agent.PaymentRequest{ID: "dongle-1", Amount: 2345, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	if p.State != agent.StateApproved || p.Reader != in.Name() || p.Scheme != "mastercard" || p.MaskedPAN == "" || p.AuthCode == "" {
		t.Fatalf("payment %+v", p)
	}
	recs, err := acqsim.ReadJournal(jpath)
	if err != nil || len(recs) == 0 {
		t.Fatalf("journal: %d records, %v", len(recs), err)
	}
	if s.Dev.Taps() != 1 {
		t.Fatalf("%d taps", s.Dev.Taps())
	}
}

// TestEngineDongleDropMidPayment: the Bluetooth link drops at the third
// APDU; the engine asks for the card again, the dongle reconnects when its
// path comes back, and the payment completes on the second tap.
func TestEngineDongleDropMidPayment(t *testing.T) {
	in, s := newInput(t, device.Options{NewCard: devicetest.SoftCard(t, "visa"), Faults: device.Faults{DropLinkAtAPDU: 3}})
	acq, _ := acquirer(t)
	eng := openEngine(t, in, acq)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, stop := eng.Subscribe(0)
	defer stop()
	p, err := eng.Pay(ctx, agent.PaymentRequest{ID: "dongle-drop", Amount: 1200, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	if p.State != agent.StateApproved || p.Reversed {
		t.Fatalf("payment %+v", p)
	}
	if s.Dev.Taps() != 2 || in.Dongle().Stats().Reconnects.Load() < 1 {
		t.Fatalf("taps %d, reconnects %d", s.Dev.Taps(), in.Dongle().Stats().Reconnects.Load())
	}
	again := false
	for len(events) > 0 {
		if e := <-events; e.Prompt == "present_card_again" {
			again = true
		}
	}
	if !again {
		t.Fatal("no present_card_again prompt")
	}
}
