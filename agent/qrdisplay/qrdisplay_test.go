package qrdisplay_test

import (
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"posagent/agent"
	"posagent/agent/config"
	"posagent/agent/input/qrscan"
	"posagent/agent/qrdisplay"
	"posagent/offline"
	"posagent/qr"
	"posagent/qr/scan"
)

var merchant = qr.Merchant{
	Accounts: []qr.Field{{ID: "26", Sub: []qr.Field{{ID: "00", Value: "com.posagent.acqsim"}, {ID: "01", Value: "MERCHANT0000001"}}}},
	MCC:      "5812", Country: "DE", Name: "SHOP", City: "BERLIN",
}

// TestHandlerRealEngine: a payment waiting in the real engine (its input a
// watched, empty folder) is drawn; the served PNG read by gozxing is the
// payment's code; after the abort there is no code.
func TestHandlerRealEngine(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "keys"), 0o700)
	os.Mkdir(filepath.Join(dir, "camera"), 0o700)
	in := qrscan.New("camera", scan.NewFrameScanner(&scan.Dir{Path: filepath.Join(dir, "camera")}, scan.Options{Lossless: true}))
	eng, err := agent.Open(agent.Config{
		DataFile: filepath.Join(dir, "data", offline.DBFileName),
		Store: offline.Options{KeyFile: filepath.Join(dir, "keys", offline.KeyFileName),
			SecretFile: filepath.Join(dir, "keys", offline.SecretFileName)},
		Scanners: []agent.Scanner{in}, ClassifyQR: qrscan.Classify, CardTimeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	ctx := context.Background()
	if _, err := eng.Start(ctx, agent.PaymentRequest{ID: "ORDER-77", Amount: 4250, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(qrdisplay.Pattern, qrdisplay.Handler(eng, merchant, "T0000001"))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/v1/payments/ORDER-77/qr.png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	bmp, _ := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(gozxing.NewLuminanceSourceFromImage(img)))
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := qr.DecodeMPM(res.GetText())
	if err != nil {
		t.Fatal(err)
	}
	amt, cur, _, _ := m.Amount()
	if term, _ := m.Get("62", "07"); amt != 4250 || cur != "EUR" || m.Reference() != "ORDER-77" || term != "T0000001" || !m.Dynamic() {
		t.Fatalf("code says %d %s ref %s term %s", amt, cur, m.Reference(), term)
	}
	if _, err := eng.Abort(ctx, "ORDER-77"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ORDER-77", "unknown"} {
		resp, err := http.Get(srv.URL + "/v1/payments/" + id + "/qr.png")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", id, resp.StatusCode)
		}
	}
}

func TestMerchantFromConfig(t *testing.T) {
	cfg := config.Default()
	m := qrdisplay.Merchant(cfg.Terminal, qrdisplay.QRSettings{GUID: "com.posagent.acqsim", City: "PARIS", Country: "FR"})
	s, err := qr.DynamicPayload(m, qr.Charge{Amount: 100, Currency: cfg.Terminal.Currency, Reference: "R1", Terminal: cfg.Terminal.TerminalID})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := qr.DecodeMPM(s)
	if v, _ := d.Get("26", "01"); v != cfg.Terminal.MerchantID {
		t.Errorf("26.01 = %q", v)
	}
	if v, _ := d.Get("52"); v != fmt.Sprintf("%04d", cfg.Terminal.MCC) {
		t.Errorf("52 = %q", v)
	}
	if v, _ := d.Get("59"); v != cfg.Terminal.MerchantName {
		t.Errorf("59 = %q", v)
	}
}
