package acqsim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/emv/pan"
	"posagent/uplink"
)

func TestParseRules(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr string
	}{
		{name: "full", json: `{"rules":[{"name":"a","mti":["0200"],"min_amount":10,"max_amount":20,"pan_from":"4000","pan_to":"4999","mcc":["5411"],"response_code":"51","delay":"10ms","fault":"garbage","close_after":2}],
			"issuer_keys":{"visa":"0123456789ABCDEFFEDCBA9876543210"}}`},
		{name: "unknown field", json: `{"rules":[{"amout":1}]}`, wantErr: "unknown field"},
		{name: "unknown fault", json: `{"rules":[{"fault":"explode"}]}`, wantErr: "unknown fault"},
		{name: "down per rule", json: `{"rules":[{"fault":"down"}]}`, wantErr: "per run only"},
		{name: "long response code", json: `{"rules":[{"response_code":"051"}]}`, wantErr: "2 characters"},
		{name: "half PAN range", json: `{"rules":[{"pan_from":"4000"}]}`, wantErr: "pan_from"},
		{name: "bad delay", json: `{"rules":[{"delay":"soon"}]}`, wantErr: "duration"},
		{name: "short issuer key", json: `{"issuer_keys":{"visa":"0123"}}`, wantErr: "32 hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules([]byte(tt.json))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRuleMatching(t *testing.T) {
	r, err := ParseRules([]byte(`{"rules":[
		{"name":"range","pan_from":"476173","pan_to":"476199","response_code":"05"},
		{"name":"big","min_amount":1000,"response_code":"51"},
		{"name":"mcc","mcc":["7995"],"response_code":"57"},
		{"name":"exact","amount":7,"mti":["0100"],"response_code":"13"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	p := func(s string) pan.PAN {
		v, err := pan.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		m    uplink.Message
		want string // rule name, "" = none
	}{
		{"in PAN range", uplink.Message{MTI: "0200", PAN: p("4761739001010010"), Amount: 5, HasAmount: true}, "range"},
		{"upper PAN bound", uplink.Message{MTI: "0200", PAN: p("4761999001010010"), Amount: 5, HasAmount: true}, "range"},
		{"above PAN range", uplink.Message{MTI: "0200", PAN: p("4762009001010010"), Amount: 5, HasAmount: true}, ""},
		{"amount", uplink.Message{MTI: "0200", PAN: p("5413330089010434"), Amount: 1000, HasAmount: true}, "big"},
		{"mcc", uplink.Message{MTI: "0200", MCC: "7995", Amount: 1, HasAmount: true}, "mcc"},
		{"exact amount other MTI", uplink.Message{MTI: "0200", Amount: 7, HasAmount: true}, ""},
		{"exact amount", uplink.Message{MTI: "0100", Amount: 7, HasAmount: true}, "exact"},
		{"no amount", uplink.Message{MTI: "0800"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rule := r.match(&tt.m)
			got := ""
			if rule != nil {
				got = rule.Name
			}
			if got != tt.want {
				t.Fatalf("matched %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJournalDuplicatesAndTotals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	add := func(kind, txn string, amount int64, rc string, reverses bool) bool {
		st, prev, dup := j.claim(kind, "T1", txn)
		rec := Record{Kind: kind, TerminalID: "T1", TransactionID: txn, Amount: amount, Currency: "978", ResponseCode: rc, ReversesApproved: reverses}
		if dup {
			rec.Duplicate, rec.ResponseCode = true, prev.ResponseCode
			if err := j.Append(rec); err != nil {
				t.Fatal(err)
			}
			return true
		}
		if err := j.Append(rec); err != nil {
			t.Fatal(err)
		}
		j.finish(kind, "T1", txn, st, &rec)
		return false
	}
	add(KindFinancial, "a", 100, "00", false)
	add(KindFinancial, "b", 200, "51", false)
	add(KindAdvice, "c", 50, "00", false)
	if !add(KindAdvice, "c", 50, "00", false) {
		t.Fatal("second advice not a duplicate")
	}
	add(KindReversal, "a", 100, "00", true)
	// Concurrent duplicates: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	dups := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if add(KindReversal, "c", 50, "00", true) {
				mu.Lock()
				dups++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if dups != 7 {
		t.Fatalf("%d duplicates among 8 concurrent reversals, want 7", dups)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	// After a restart the index is rebuilt from the file.
	j2, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, dup := j2.claim(KindAdvice, "T1", "c"); !dup {
		t.Fatal("restart forgot the advice")
	}
	j2.Close()
	tot, err := ReadTotals(path)
	if err != nil {
		t.Fatal(err)
	}
	if tot.Records != 13 || tot.Duplicates != 8 {
		t.Fatalf("records %d duplicates %d", tot.Records, tot.Duplicates)
	}
	if f := tot.ByKind[KindFinancial]; f.Approved != 1 || f.Declined != 1 || f.ApprovedAmount["978"] != 100 {
		t.Fatalf("financial %+v", f)
	}
	// 100 (a) + 50 (c advice) - 100 (reversal a) - 50 (reversal c)
	if tot.Net["978"] != 0 {
		t.Fatalf("net %d, want 0", tot.Net["978"])
	}
	var out bytes.Buffer
	tot.Print(&out)
	if !strings.Contains(out.String(), "duplicates 8") || !strings.Contains(out.String(), "net[978] 0") {
		t.Fatalf("print:\n%s", out.String())
	}
}

func TestJournalRejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	os.WriteFile(path, []byte("{\"kind\":\"auth\"}\nnot json\n"), 0o600)
	if _, err := OpenJournal(path); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want line 2", err)
	}
}

func TestICCDataVerifies(t *testing.T) {
	dir := t.TempDir()
	if err := InitCerts(filepath.Join(dir, "tls")); err != nil {
		t.Fatal(err)
	}
	if err := InitCerts(filepath.Join(dir, "tls")); err == nil {
		t.Fatal("InitCerts overwrote existing certificates")
	}
	srv, _ := startServer(t, dir)
	p, _ := pan.Parse("5413330089010434")
	for _, scheme := range []string{"visa", "mastercard", "unionpay"} {
		t.Run(scheme, func(t *testing.T) {
			icc, err := ICCData(CardData{Scheme: scheme, PAN: p.Digits(), PSN: 2, ATC: 9, Amount: 42, Currency: "978", UN: 7})
			if err != nil {
				t.Fatal(err)
			}
			ok, _, _ := srv.verifyARQC(&uplink.Message{PAN: p, ICC: icc})
			if !ok {
				t.Fatal("ARQC from ICCData does not verify")
			}
		})
	}
}

func TestLoadSmall(t *testing.T) {
	dir := t.TempDir()
	if err := InitCerts(filepath.Join(dir, "tls")); err != nil {
		t.Fatal(err)
	}
	srv, addr := startServer(t, dir)
	tcfg, err := ClientTLSFiles(filepath.Join(dir, "tls")).Load()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Load(context.Background(), LoadConfig{Addr: addr, TLS: tcfg, Terminals: 20, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Auths == 0 || res.Errors != 0 || res.Approved != res.Auths || res.P50 <= 0 || res.P99 < res.P50 {
		t.Fatalf("load result %s", res)
	}
	if got := srv.Stats.Approved.Load(); got != res.Approved {
		t.Fatalf("server approved %d, load counted %d", got, res.Approved)
	}
	if srv.Stats.ARQCFailed.Load() != 0 {
		t.Fatal("ARQC failures under load")
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add([]byte(`{"rules":[{"min_amount":1,"response_code":"51","delay":"1s","fault":"garbage"}]}`))
	f.Add([]byte(`{"issuer_keys":{"visa":"00"}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := ParseRules(in)
		if err != nil {
			return
		}
		p, _ := pan.Parse("4761739001010010")
		r.match(&uplink.Message{MTI: "0200", PAN: p, Amount: 5, HasAmount: true})
	})
}
