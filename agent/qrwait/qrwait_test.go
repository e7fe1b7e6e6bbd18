package qrwait_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"posagent/agent/qrwait"
	"posagent/qr"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

// TestWaitRealAcquirer: the uplink client over mutual TLS to the real
// acquirer simulator; the wallet (acqsim.PayQR) pays while the terminal
// waits.
func TestWaitRealAcquirer(t *testing.T) {
	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	if err := acqsim.InitCerts(tlsDir); err != nil {
		t.Fatal(err)
	}
	j, err := acqsim.OpenJournal(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	stls, _ := acqsim.ServerTLS(tlsDir)
	srv, err := acqsim.NewServer(acqsim.Config{TLS: stls, Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr, _ := srv.Listen("127.0.0.1:0")
	ctls, _ := acqsim.ClientTLSFiles(tlsDir).Load()
	stan, _ := uplink.OpenSTAN(filepath.Join(dir, "stan"), 0)
	c, err := uplink.New(uplink.Config{Addr: addr.String(), TLS: ctls, TerminalID: "T0000001", MerchantID: "MERCHANT0000001", Queue: acqsim.NewMemQueue(), STAN: stan})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	code := func(ref string) string {
		s, err := qr.DynamicPayload(qr.Merchant{
			Accounts: []qr.Field{{ID: "26", Sub: []qr.Field{{ID: "00", Value: "com.posagent.acqsim"}, {ID: "01", Value: "MERCHANT0000001"}}}},
			MCC:      "5812", Country: "DE", Name: "SHOP", City: "BERLIN",
		}, qr.Charge{Amount: 1999, Currency: "EUR", Reference: ref, Terminal: "T0000001"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	o := qrwait.Options{Every: 50 * time.Millisecond, Timeout: 5 * time.Second}

	paid := code("PAID-1")
	go func() {
		time.Sleep(300 * time.Millisecond)
		srv.PayQR(paid)
	}()
	start := time.Now()
	res, err := qrwait.Wait(ctx, c, qrwait.Payment{ID: "PAID-1", Amount: 1999, Currency: "978", Payload: paid}, o)
	if err != nil || !res.Approved() || time.Since(start) < 250*time.Millisecond {
		t.Fatalf("paid: %v %v after %v", res, err, time.Since(start))
	}

	o.Timeout = 300 * time.Millisecond
	if _, err := qrwait.Wait(ctx, c, qrwait.Payment{ID: "NEVER", Amount: 1999, Currency: "978", Payload: code("NEVER")}, o); !errors.Is(err, qrwait.ErrTimeout) {
		t.Fatalf("unpaid: %v", err)
	}
	abort, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	o.Timeout = 5 * time.Second
	if _, err := qrwait.Wait(abort, c, qrwait.Payment{ID: "ABORTED", Amount: 1999, Currency: "978", Payload: code("ABORTED")}, o); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("aborted: %v", err)
	}
	// Paid a different amount than the payment's: declined, not pending.
	other := code("WRONG")
	srv.PayQR(other)
	res, err = qrwait.Wait(ctx, c, qrwait.Payment{ID: "WRONG", Amount: 5, Currency: "978", Payload: other}, o)
	if err != nil || res.ResponseCode != uplink.RCInvalidTxn {
		t.Fatalf("wrong amount: %v %v", res, err)
	}
}
