package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/creack/pty"

	"posagent/agent"
	"posagent/agent/api"
	"posagent/agent/api/apitest"
	"posagent/agent/qrdisplay"
	"posagent/qr"
)

// TestServeQRPayments: the daemon with a watched folder as its QR scanner
// and merchant-presented codes on; both kinds through the local API
// (checked against openapi.yaml), the real engine and the real acquirer
// simulator (its wallet pays the displayed code).
func TestServeQRPayments(t *testing.T) {
	base := t.TempDir()
	inbox := filepath.Join(base, "inbox")
	if err := os.Mkdir(inbox, 0o700); err != nil {
		t.Fatal(err)
	}
	ptmx, tty, err := pty.Open() // the serial barcode scanner at the counter
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	e := newServeEnvReaders(t, `[qr]
merchant = true
city = "BERLIN"
country = "DE"
poll = "100ms"
timeout = "20s"`, fmt.Sprintf(`[readers]
pcsc = false
[[readers.scanner]]
name = "inbox"
dir = %q
[[readers.scanner]]
name = "counter"
serial = %q
eol = "crlf"`, inbox, tty.Name()))
	_, c := e.start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Consumer-presented: the customer's Alipay code, seen by the folder.
	p, err := c.Start(ctx, api.PaymentBody{ID: "qr-consumer", Amount: 2500, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	writeCodePNG(t, filepath.Join(inbox, "phone.png"), "281234567890123456")
	if p, err = c.Wait(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if p.State != agent.StateApproved || p.EntryMode != "qr_consumer" || p.Scheme != string(qr.FormatAlipay) || p.Reader != "inbox" {
		t.Fatalf("consumer-presented: %+v", p)
	}

	// The serial scanner reads a WeChat Pay code; then the cashier scans
	// a shop's code by mistake: refused.
	p, err = c.Start(ctx, api.PaymentBody{ID: "qr-serial", Amount: 3100, Currency: "EUR", Reader: "counter"})
	if err != nil {
		t.Fatal(err)
	}
	ptmx.Write([]byte("134567890123456789\r\n"))
	if p, err = c.Wait(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if p.State != agent.StateApproved || p.Scheme != string(qr.FormatWeChat) || p.Reader != "counter" {
		t.Fatalf("serial scanner: %+v", p)
	}
	p, err = c.Start(ctx, api.PaymentBody{ID: "qr-wrong", Amount: 3100, Currency: "EUR", Reader: "counter"})
	if err != nil {
		t.Fatal(err)
	}
	shop, _ := qr.DynamicPayload(qrMerchantOf(t, e), qr.Charge{Amount: 3100, Currency: "EUR", Reference: "X", Terminal: "T0000001"})
	ptmx.Write([]byte(shop + "\r\n"))
	if p, err = c.Wait(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if p.State != agent.StateDeclined || p.Reason != agent.ReasonQRUnsupported {
		t.Fatalf("a shop's code scanned: %+v", p)
	}

	// Merchant-presented: the display fetches the code (no token), the
	// wallet pays what it decoded.
	p, err = c.Start(ctx, api.PaymentBody{ID: "qr-merchant", Amount: 1250, Currency: "EUR", Method: agent.MethodQRMerchant})
	if err != nil {
		t.Fatal(err)
	}
	display := &http.Client{Transport: apitest.Transport(t, nil)}
	text, err := fetchQRCode(ctx, display, c.BaseURL+"/v1/payments/qr-merchant/qr.png")
	if err != nil || text != p.QRPayload {
		t.Fatalf("display shows %q, payment has %q", text, p.QRPayload)
	}
	// The customer display (agent/web, loopback) shows the same code.
	if shown, err := fetchQRCode(ctx, &http.Client{}, c.BaseURL+"/display/qr/qr-merchant"); err != nil || shown != p.QRPayload {
		t.Fatalf("display page's code %q: %v", shown, err)
	}
	if _, err := e.srv.PayQR(text); err != nil {
		t.Fatal(err)
	}
	if p, err = c.Wait(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if p.State != agent.StateApproved || p.EntryMode != "qr_merchant" || p.Method != agent.MethodQRMerchant || p.Receipt == nil {
		t.Fatalf("merchant-presented: %+v", p)
	}
	resp, err := display.Get(c.BaseURL + "/v1/payments/qr-merchant/qr.png")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("code of a final payment: %d", resp.StatusCode)
	}
	tot, err := c.Totals(ctx, time.Time{})
	if err != nil || tot.Net["EUR"] != 6850 {
		t.Fatalf("totals %+v %v", tot, err)
	}
	if acq := e.totals(); acq.Net["978"] != 6850 {
		t.Fatalf("acquirer totals %+v", acq)
	}
}

// qrMerchantOf is the merchant data of the env's daemon config.
func qrMerchantOf(t testing.TB, e *serveEnv) qr.Merchant {
	c := e.config()
	return qrdisplay.Merchant(c.Terminal, qrdisplay.QRSettings{GUID: c.QR.GUID, City: c.QR.City, Country: c.QR.Country})
}
