package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"posagent/qr"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

// TestPayQREndToEnd: a real acqsim process with its wallet endpoint; the
// terminal (a real uplink client over mutual TLS) shows a dynamic code and
// polls; "acqsim pay-qr" pays it; the next poll is approved.
func TestPayQREndToEnd(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "acqsim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	tlsDir := filepath.Join(dir, "tls")
	if out, err := exec.Command(bin, "init", tlsDir).CombinedOutput(); err != nil {
		t.Fatalf("init: %v %s", err, out)
	}
	srv := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--wallet-listen", "127.0.0.1:0", "--tls", tlsDir, "--journal", filepath.Join(dir, "j.jsonl"))
	stdout, _ := srv.StdoutPipe()
	var stderr bytes.Buffer
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	found := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var wallet string
		for sc.Scan() {
			if m := regexp.MustCompile(`wallet listening on (\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				wallet = m[1]
			} else if m := regexp.MustCompile(`^acqsim listening on (\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				found <- [2]string{m[1], wallet}
			}
		}
	}()
	var addrs [2]string
	select {
	case addrs = <-found:
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	ctls, err := acqsim.ClientTLSFiles(tlsDir).Load()
	if err != nil {
		t.Fatal(err)
	}
	stan, _ := uplink.OpenSTAN(filepath.Join(dir, "stan"), 0)
	c, err := uplink.New(uplink.Config{Addr: addrs[0], TLS: ctls, TerminalID: "T0000001", MerchantID: "MERCHANT0000001", Queue: acqsim.NewMemQueue(), STAN: stan})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload, err := qr.DynamicPayload(qr.Merchant{
		Accounts: []qr.Field{{ID: "26", Sub: []qr.Field{{ID: "00", Value: "com.posagent.acqsim"}, {ID: "01", Value: "MERCHANT0000001"}}}},
		MCC:      "5812", Country: "DE", Name: "SHOP", City: "BERLIN",
	}, qr.Charge{Amount: 990, Currency: "EUR", Reference: "ORDER-9", Terminal: "T0000001"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	poll := func() string {
		res, err := c.Purchase(ctx, uplink.Transaction{ID: "ORDER-9", Amount: 990, Currency: "978", EntryMode: uplink.EntryQRMerchant, QR: payload})
		if err != nil {
			t.Fatal(err)
		}
		return res.ResponseCode
	}
	if rc := poll(); rc != uplink.RCPending {
		t.Fatalf("before pay-qr: %s", rc)
	}
	cmd := exec.Command(bin, "pay-qr", "--wallet", addrs[1], "--tls", tlsDir, "-")
	cmd.Stdin = strings.NewReader(payload + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pay-qr: %v %s", err, out)
	}
	var w acqsim.WalletPayment
	if err := json.Unmarshal(out, &w); err != nil || w.Status != "paid" || w.Amount != 990 || w.Reference != "ORDER-9" {
		t.Fatalf("pay-qr output %s (%v)", out, err)
	}
	if rc := poll(); rc != uplink.RCApproved {
		t.Fatalf("after pay-qr: %s", rc)
	}
	// Paying again is refused (exit 1, 409).
	if out, err := exec.Command(bin, "pay-qr", "--wallet", addrs[1], "--tls", tlsDir, payload).CombinedOutput(); err == nil || !strings.Contains(string(out), "already_paid") {
		t.Fatalf("second pay-qr: %v %s", err, out)
	}
}
