package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"posagent/emv/cardsim"
	"posagent/uplink/acqsim"
)

// demoRun runs `posagent demo args...` in-process.
func demoRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runDemo(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// demoCheckNoPAN fails if the card's full PAN appears in any output.
func demoCheckNoPAN(t *testing.T, card string, outputs ...string) {
	t.Helper()
	p, err := cardsim.Preset(card)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range outputs {
		if strings.Contains(s, p.PAN) {
			t.Errorf("output contains the full PAN of %s", card)
		}
	}
}

// demoJournalTotals reads the acquirer simulator's journal kept in dir.
func demoJournalTotals(t *testing.T, dir string) *acqsim.Totals {
	t.Helper()
	tot, err := acqsim.ReadTotals(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return tot
}

func TestDemoSchemes(t *testing.T) {
	for _, tc := range []struct{ card, kernel string }{
		{"visa", "C-3"}, {"mastercard", "C-2"}, {"unionpay", "C-7"},
	} {
		t.Run(tc.card, func(t *testing.T) {
			keep := filepath.Join(t.TempDir(), "demo")
			code, out, errs := demoRun(t, "--card", tc.card, "--keep", keep)
			t.Logf("stdout:\n%s", out)
			if code != 0 {
				t.Fatalf("exit %d, stderr: %s", code, errs)
			}
			demoCheckNoPAN(t, tc.card, out, errs)
			for _, want := range []string{
				"acquirer simulator listening on 127.0.0.1:",
				"test CA keys ON because the card is simulated",
				"kernel " + tc.kernel,
				"cryptogram ARQC", "outcome online_request",
				"response code 00, approved", "ARPC verified",
				"journal: 1 authorisation(s) (1 approved, 0 declined), approved amount 12.34 EUR",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q", want)
				}
			}
			if !regexp.MustCompile(`(?m)^payment demo-\S+ APPROVED 12\.34 EUR$`).MatchString(out) {
				t.Errorf("no final APPROVED line")
			}
			tot := demoJournalTotals(t, keep)
			fin := tot.ByKind[acqsim.KindFinancial]
			auth := tot.ByKind[acqsim.KindAuth]
			n, approved := 0, int64(0)
			for _, k := range []*acqsim.KindTotals{fin, auth} {
				if k != nil {
					n += k.Count
					approved += k.ApprovedAmount["978"]
				}
			}
			if n != 1 || approved != 1234 || tot.Net["978"] != 1234 || tot.Duplicates != 0 {
				t.Errorf("journal: %d authorisations, approved %d, net %d, duplicates %d; want 1, 1234, 1234, 0",
					n, approved, tot.Net["978"], tot.Duplicates)
			}
			if k := tot.ByKind[acqsim.KindReversal]; k != nil && k.Count != 0 {
				t.Errorf("journal holds %d reversals", k.Count)
			}
			raw, err := os.ReadFile(filepath.Join(keep, "journal.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			demoCheckNoPAN(t, tc.card, string(raw))
		})
	}
}

func TestDemoJSON(t *testing.T) {
	code, out, errs := demoRun(t, "--card", "mastercard", "--amount", "7.50", "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errs)
	}
	demoCheckNoPAN(t, "mastercard", out, errs)
	var rep struct {
		Outcome    string `json:"outcome"`
		Kernel     string `json:"kernel"`
		PAN        string `json:"pan"`
		Cryptogram string `json:"cryptogram"`
		Result     string `json:"result"`
		Amount     string `json:"amount"`
		TestKeys   bool   `json:"test_keys"`
		Online     struct {
			ResponseCode string `json:"response_code"`
			Approved     bool   `json:"approved"`
			AuthCode     string `json:"auth_code"`
			STAN         string `json:"stan"`
			ARPC         string `json:"arpc"`
		} `json:"online"`
		Journal struct {
			Authorisations int   `json:"authorisations"`
			ApprovedAmount int64 `json:"approved_amount"`
		} `json:"journal"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	if rep.Outcome != "online_request" || rep.Kernel != "C-2" || rep.Cryptogram != "ARQC" || rep.PAN != "541333******0434" ||
		rep.Result != "APPROVED" || rep.Amount != "7.50" || !rep.TestKeys {
		t.Errorf("report: %+v", rep)
	}
	if rep.Online.ResponseCode != "00" || !rep.Online.Approved || rep.Online.AuthCode == "" || rep.Online.STAN == "" || rep.Online.ARPC != "verified" {
		t.Errorf("online: %+v", rep.Online)
	}
	if rep.Journal.Authorisations != 1 || rep.Journal.ApprovedAmount != 750 {
		t.Errorf("journal: %+v", rep.Journal)
	}
}

// TestDemoRemovesTempDir: without --keep nothing is left behind.
func TestDemoRemovesTempDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	code, out, errs := demoRun(t)
	if code != 0 || !strings.Contains(out, "APPROVED 12.34 EUR") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("left behind in TMPDIR: %v", left)
	}
}

// TestDemoCardDecline: a card that declines (expired: AAC) is a final
// state without any online message.
func TestDemoCardDecline(t *testing.T) {
	keep := filepath.Join(t.TempDir(), "demo")
	code, out, errs := demoRun(t, "--card", "expired-card", "--keep", keep)
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errs)
	}
	demoCheckNoPAN(t, "expired-card", out, errs)
	if !regexp.MustCompile(`(?m)^payment demo-\S+ DECLINED 12\.34 EUR \(declined by the card`).MatchString(out) {
		t.Errorf("no final DECLINED line:\n%s", out)
	}
	if tot := demoJournalTotals(t, keep); tot.Records != 0 {
		t.Errorf("journal holds %d records, want 0", tot.Records)
	}
}

func TestDemoBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--amount", "abc"}, {"--amount", "0"}, {"--amount", "1.234"}, {"--card", "nope"},
		{"--currency", "1000"}, {"extra"},
	} {
		if code, _, _ := demoRun(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
