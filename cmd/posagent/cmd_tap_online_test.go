package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"posagent/emv/cardsim/vpcd"
	"posagent/reader/pcsc/pcsctest"
	"posagent/uplink/acqsim"
)

// TestTapOnlineThroughEngine taps a software card through pcscd with an
// acquirer simulator on loopback mutual TLS: tap runs the engine's decision
// (online approval), and the acquirer journals the request once; without
// an acquirer the same card is declined (acquirer unavailable).
func TestTapOnlineThroughEngine(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	if err := acqsim.InitCerts(tlsDir); err != nil {
		t.Fatal(err)
	}
	jpath := filepath.Join(dir, "journal.jsonl")
	journal, err := acqsim.OpenJournal(jpath)
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	stls, err := acqsim.ServerTLS(tlsDir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := acqsim.NewServer(acqsim.Config{TLS: stls, Journal: journal})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	type result struct {
		Outcome string `json:"outcome"`
		Payment struct {
			State, Reason string
			AuthCode      string `json:"auth_code"`
		} `json:"payment"`
	}
	tap := func(args ...string) result {
		t.Helper()
		att := pcsctest.Attach(t, pcsctest.Addr0, tapSoftCard(t, "visa"), vpcd.Options{})
		defer att.Remove()
		var out, errOut bytes.Buffer
		args = append([]string{"--json", "--test-keys", "--timeout", "10s", "--amount", "12.34", "--reader", "00 00$", "--data", t.TempDir()}, args...)
		if code := runTap(context.Background(), args, &out, &errOut); code != 0 {
			t.Fatalf("tap %q: exit %d: %s", args, code, errOut.String())
		}
		var r result
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
		return r
	}
	on := tap("--acquirer", addr.String(), "--tls", tlsDir)
	if on.Outcome != "online_request" || on.Payment.State != "approved" || on.Payment.AuthCode == "" {
		t.Fatalf("online tap: %+v", on)
	}
	tot, err := acqsim.ReadTotals(jpath)
	if err != nil {
		t.Fatal(err)
	}
	if k := tot.ByKind[acqsim.KindFinancial]; k == nil || k.Count != 1 || k.Approved != 1 {
		t.Fatalf("journal: %+v", tot.ByKind)
	}
	off := tap()
	if off.Payment.State != "declined" || off.Payment.Reason != "acquirer_unavailable" {
		t.Fatalf("tap without an acquirer: %+v", off)
	}
}
