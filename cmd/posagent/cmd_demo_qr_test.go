package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoQR: "posagent demo --qr" runs a card payment and one QR payment
// of each kind against the real acquirer simulator; the journal kept in
// --keep holds all three, with the QR formats and without the codes.
func TestDemoQR(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kept")
	code, out, errs := demoRun(t, "--qr", "--json", "--keep", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	var rep struct {
		Result      string          `json:"result"`
		AmountMinor int64           `json:"amount_minor"`
		Journal     demoJournal     `json:"journal"`
		QR          []demoQRPayment `json:"qr"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Result != "APPROVED" || len(rep.QR) != 2 {
		t.Fatalf("report %+v", rep)
	}
	for i, want := range []string{"consumer_presented", "merchant_presented"} {
		q := rep.QR[i]
		if q.Kind != want || q.Result != "APPROVED" || q.AuthCode == "" {
			t.Errorf("QR payment %d: %+v", i, q)
		}
	}
	if rep.Journal.Authorisations != 3 || rep.Journal.Approved != 3 || rep.Journal.ApprovedAmount != 3*rep.AmountMinor {
		t.Fatalf("journal %+v", rep.Journal)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{`"qr_format":"wechat-pay"`, `"qr_format":"emvco-mpm"`, `"kind":"wallet"`} {
		if !strings.Contains(string(raw), f) {
			t.Errorf("journal lacks %s", f)
		}
	}
	if strings.Contains(string(raw), "134567") {
		t.Error("journal holds the wallet code")
	}
	// Plain output names both flows.
	code, out, _ = demoRun(t, "--qr")
	if code != 0 || !strings.Contains(out, "QR, consumer-presented") || !strings.Contains(out, "QR, merchant-presented") || strings.Contains(out, "134567890") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
