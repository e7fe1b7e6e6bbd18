package acqsim

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posagent/emv/tlv"
	"posagent/qr"
	"posagent/uplink"
)

// qrHost starts acqsim (rules optional) with its wallet endpoint on mutual
// TLS and an uplink client of terminal T0000001 over mutual TLS.
func qrHost(t *testing.T, rules string) (*Server, *uplink.Client, *http.Client, string) {
	t.Helper()
	dir := t.TempDir()
	if err := InitCerts(filepath.Join(dir, "tls")); err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	stls, err := ServerTLS(filepath.Join(dir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{TLS: stls, Journal: j}
	if rules != "" {
		if cfg.Rules, err = ParseRules([]byte(rules)); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.WalletHandler()}
	go hs.Serve(tls.NewListener(ln, stls))
	t.Cleanup(func() { hs.Close(); srv.Close(); j.Close() })
	ctls, err := ClientTLSFiles(filepath.Join(dir, "tls")).Load()
	if err != nil {
		t.Fatal(err)
	}
	stan, err := uplink.OpenSTAN(filepath.Join(dir, "stan"), 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := uplink.New(uplink.Config{Addr: a.String(), TLS: ctls, TerminalID: "T0000001",
		MerchantID: "MERCHANT0000001", Queue: NewMemQueue(), STAN: stan})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	wc := ctls.Clone()
	wc.ServerName = "localhost"
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: wc}, Timeout: 5 * time.Second}
	return srv, c, hc, "https://" + ln.Addr().String()
}

func TestConsumerPresentedQR(t *testing.T) {
	srv, c, _, _ := qrHost(t, `{"rules":[{"name":"no alipay","qr_format":["alipay"],"response_code":"57"}]}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cpm := base64.StdEncoding.EncodeToString(append(tlv.Encode(0x85, []byte("CPV01")),
		tlv.Encode(0x61, tlv.Encode(0x4F, []byte{0xA0, 0, 0, 0, 3, 0x10, 0x10}))...))
	cases := []struct {
		name, id, code string
		want           string
	}{
		{"wechat", "q1", "134567890123456789", uplink.RCApproved},
		{"wechat-code-reused", "q2", "134567890123456789", uplink.RCDoNotHonour},
		{"unionpay", "q3", "6212345678901234567", uplink.RCApproved},
		{"alipay-by-rule", "q4", "281234567890123456", uplink.RCNotPermitted},
		{"cpm", "q5", cpm, uplink.RCApproved},
		{"broken-cpm", "q6", base64.StdEncoding.EncodeToString([]byte{0x85, 0x05, 'C', 'P', 'V', '0', '2'}), uplink.RCInvalidCode},
		{"not-a-code", "q7", "hello world", uplink.RCInvalidCode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Purchase(ctx, uplink.Transaction{ID: tc.id, Amount: 1500, Currency: "156", EntryMode: uplink.EntryQR, QR: tc.code})
			if err != nil {
				t.Fatal(err)
			}
			if res.ResponseCode != tc.want {
				t.Fatalf("rc %s, want %s", res.ResponseCode, tc.want)
			}
		})
	}
	// The same transaction again (a retry) is the same answer, not a reuse.
	res, err := c.Purchase(ctx, uplink.Transaction{ID: "q1", Amount: 1500, Currency: "156", EntryMode: uplink.EntryQR, QR: "134567890123456789"})
	if err != nil || res.ResponseCode != uplink.RCApproved {
		t.Fatalf("retry: %v %v", res.ResponseCode, err)
	}
	if srv.Stats.Approved.Load() != 3 {
		t.Fatalf("approved %d", srv.Stats.Approved.Load())
	}
	raw, _ := os.ReadFile(srv.cfg.Journal.f.Name())
	if bytes.Contains(raw, []byte("134567890123456789")) || !bytes.Contains(raw, []byte(`"qr_format":"wechat-pay"`)) {
		t.Fatalf("journal leaks the code or lacks the format:\n%s", raw)
	}
}

func TestMerchantPresentedQR(t *testing.T) {
	srv, c, hc, wallet := qrHost(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	payload, err := qr.DynamicPayload(qr.Merchant{
		Accounts: []qr.Field{{ID: "26", Sub: []qr.Field{{ID: "00", Value: "com.posagent.acqsim"}, {ID: "01", Value: "MERCHANT0000001"}}}},
		MCC:      "5812", Country: "TH", Name: "NOODLES", City: "BANGKOK",
	}, qr.Charge{Amount: 12345, Currency: "THB", Reference: "PAY-42", Terminal: "T0000001"})
	if err != nil {
		t.Fatal(err)
	}
	status := func(id string, amount int64) string {
		t.Helper()
		res, err := c.Purchase(ctx, uplink.Transaction{ID: id, Amount: amount, Currency: "764", EntryMode: uplink.EntryQRMerchant, QR: payload})
		if err != nil {
			t.Fatal(err)
		}
		return res.ResponseCode
	}
	// Before the wallet pays: pending, and asking again stays pending.
	for i := 0; i < 2; i++ {
		if rc := status("PAY-42", 12345); rc != uplink.RCPending {
			t.Fatalf("before payment: rc %s", rc)
		}
	}
	pay := func(p string) (int, WalletPayment) {
		b, _ := json.Marshal(map[string]string{"payload": p})
		resp, err := hc.Post(wallet+"/wallet/pay", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var w WalletPayment
		json.NewDecoder(resp.Body).Decode(&w)
		return resp.StatusCode, w
	}
	code, w := pay(payload)
	if code != 200 || w.Amount != 12345 || w.Currency != "THB" || w.Reference != "PAY-42" || w.AuthCode == "" {
		t.Fatalf("wallet: %d %+v", code, w)
	}
	if code, _ := pay(payload); code != http.StatusConflict {
		t.Fatalf("second payment: %d", code)
	}
	bad := payload[:len(payload)-4] + "0000"
	if code, _ := pay(bad); code != http.StatusUnprocessableEntity {
		t.Fatalf("bad CRC paid: %d", code)
	}
	if rc := status("PAY-42-wrong-amount", 99); rc != uplink.RCInvalidTxn {
		t.Fatalf("wrong amount: rc %s", rc)
	}
	if rc := status("PAY-42", 12345); rc != uplink.RCApproved {
		t.Fatalf("after payment: rc %s", rc)
	}
	if rc := status("PAY-42", 12345); rc != uplink.RCApproved {
		t.Fatalf("asked again: rc %s", rc)
	}
	// The wallet payment is in the journal (fsync'd): a restarted host,
	// reading the file again, knows it.
	j, err := OpenJournal(srv.cfg.Journal.f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if r, ok := j.lookup(KindWallet, "T0000001", "PAY-42"); !ok || r.Amount != 12345 || r.AuthCode != w.AuthCode {
		t.Fatalf("journal after restart: %+v %v", r, ok)
	}
	if _, err := srv.PayQR("00020101021126160004TEST01041234520458125303764" + "5802TH5901X6001Y6304"); !errors.Is(err, ErrNotPayable) {
		t.Fatalf("static code: %v", err)
	}
	if !strings.Contains(w.Merchant, "NOODLES") {
		t.Fatalf("merchant %q", w.Merchant)
	}
}
