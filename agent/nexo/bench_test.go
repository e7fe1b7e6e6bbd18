package nexo_test

// The nexo payment round trip (encrypted, as Adyen's libraries send it)
// against the local REST API's payment round trip, on one real engine in
// the same run: simulated Visa card tapped at once, kernel with RSA, online
// authorisation at the acquirer simulator over mutual TLS, fsync'd states.
// Both are served over TLS on loopback by an http.Server with the same
// certificate and reached by one keep-alive Go client.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"posagent/agent"
	"posagent/agent/api"
	"posagent/agent/input/sim"
	"posagent/agent/nexo"
	"posagent/emv"
	"posagent/offline"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

const (
	benchToken = "bench-token-0123456789abcdef"
	benchPOIID = "posagent-T1"
)

type benchEnv struct {
	eng     *agent.Engine
	ring    *nexo.Keyring
	key     nexo.Key
	nexoURL string
	apiURL  string
	client  *http.Client
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	dir := b.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	if err := acqsim.InitCerts(tlsDir); err != nil {
		b.Fatal(err)
	}
	acqAddr := nexo.StartAcquirer(b, tlsDir)
	reader, err := sim.New(sim.Options{Default: "visa"})
	if err != nil {
		b.Fatal(err)
	}
	ctls, err := acqsim.ClientTLSFiles(tlsDir).Load()
	if err != nil {
		b.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "keys"), 0o700)
	term := emv.DefaultConfig()
	term.TestKeys = true // software cards are signed by test CAs
	for i := range term.AIDs {
		term.AIDs[i].FloorLimit = 0 // every payment goes online
	}
	eng, err := agent.Open(agent.Config{
		DataFile: filepath.Join(dir, "data", offline.DBFileName),
		Store: offline.Options{KeyFile: filepath.Join(dir, "keys", offline.KeyFileName),
			SecretFile: filepath.Join(dir, "keys", offline.SecretFileName)},
		Terminal: &term, Readers: []agent.Reader{reader},
		Acquirer: &uplink.Config{Addr: acqAddr, TLS: ctls, AcquirerID: "12345", ResponseTimeout: 5 * time.Second},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close(context.Background()) })
	for deadline := time.Now().Add(10 * time.Second); !eng.Status().Uplink.Up; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("uplink not up")
		}
	}
	certFile, keyFile := filepath.Join(dir, nexo.CertFileName), filepath.Join(dir, nexo.KeyFileName)
	if err := acqsim.IssueServerCert(tlsDir, "posagent-T1.test.terminal.adyen.com", nil, certFile, keyFile); err != nil {
		b.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		b.Fatal(err)
	}
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	serve := func(h http.Handler) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(tls.NewListener(ln, serverTLS))
		b.Cleanup(func() { srv.Close() })
		return "https://" + ln.Addr().String()
	}
	e := &benchEnv{eng: eng}
	if e.key, err = nexo.DeriveKey("posagent", 1, "bench passphrase"); err != nil {
		b.Fatal(err)
	}
	e.ring, _ = nexo.NewKeyring(e.key)
	e.nexoURL = serve(nexo.NewHandler(eng, nexo.Options{POIID: benchPOIID, Keys: e.ring})) + "/nexo"
	apiSrv, err := api.New(eng, api.Options{Token: benchToken})
	if err != nil {
		b.Fatal(err)
	}
	e.apiURL = serve(apiSrv) + "/v1/payments"
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(filepath.Join(tlsDir, acqsim.CAFile))
	pool.AppendCertsFromPEM(caPEM)
	e.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	return e
}

func (e *benchEnv) post(b *testing.B, url string, body []byte, hdr map[string]string) []byte {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("HTTP %d %v: %s", resp.StatusCode, err, out)
	}
	return out
}

// nexoPay is one encrypted nexo Payment round trip.
func (e *benchEnv) nexoPay(b *testing.B, sale string, i int) {
	doc := fmt.Sprintf(`{"SaleToPOIRequest":{"MessageHeader":{"ProtocolVersion":"3.0","MessageClass":"Service","MessageCategory":"Payment","MessageType":"Request","ServiceID":"%d","SaleID":"%s","POIID":"%s"},"PaymentRequest":{"SaleData":{"SaleTransactionID":{"TransactionID":"TX%d","TimeStamp":"2026-12-01T12:00:00.000Z"}},"PaymentTransaction":{"AmountsReq":{"Currency":"EUR","RequestedAmount":25.00}}}}}`,
		i, sale, benchPOIID, i)
	var m map[string]map[string]json.RawMessage
	json.Unmarshal([]byte(doc), &m)
	sec, err := nexo.Seal(m["SaleToPOIRequest"]["MessageHeader"], []byte(doc), e.key)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"SaleToPOIRequest": sec})
	raw := e.post(b, e.nexoURL, body, map[string]string{"X-API-Key": "k"})
	var out struct{ SaleToPOIResponse nexo.Secured }
	if err := json.Unmarshal(raw, &out); err != nil {
		b.Fatalf("%v: %s", err, raw)
	}
	clear, _, err := e.ring.Open(out.SaleToPOIResponse)
	if err != nil || !strings.Contains(string(clear), `"Result":"Success"`) {
		b.Fatalf("answer %v: %s", err, clear)
	}
}

// apiPay is one POST /v1/payments round trip.
func (e *benchEnv) apiPay(b *testing.B, sale string, i int) {
	body := fmt.Appendf(nil, `{"id":"%s-%d","amount":2500,"currency":"EUR","reference":"TX%d"}`, sale, i, i)
	raw := e.post(b, e.apiURL, body, map[string]string{"Authorization": "Bearer " + benchToken})
	if !bytes.Contains(raw, []byte(`"state":"approved"`)) {
		b.Fatalf("answer %s", raw)
	}
}

func BenchmarkNexoPaymentEncrypted(b *testing.B) {
	e := newBenchEnv(b)
	sale := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	for i := 0; b.Loop(); i++ {
		e.nexoPay(b, sale, i)
	}
}

func BenchmarkAPIPayment(b *testing.B) {
	e := newBenchEnv(b)
	sale := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	for i := 0; b.Loop(); i++ {
		e.apiPay(b, sale, i)
	}
}

// BenchmarkNexoVsAPIAlternating runs a nexo and a REST payment in turn on
// one engine and reports both medians and their ratio: on a loaded machine
// this is the fair comparison (the two benchmarks above run minutes apart).
func BenchmarkNexoVsAPIAlternating(b *testing.B) {
	e := newBenchEnv(b)
	sale := fmt.Sprintf("alt-%d", time.Now().UnixNano())
	var tn, ta []time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		e.nexoPay(b, sale, i)
		tn = append(tn, time.Since(t0))
		t0 = time.Now()
		e.apiPay(b, sale, i)
		ta = append(ta, time.Since(t0))
	}
	mn, ma := medianDur(tn), medianDur(ta)
	b.ReportMetric(float64(mn.Microseconds())/1000, "nexo-p50-ms")
	b.ReportMetric(float64(ma.Microseconds())/1000, "api-p50-ms")
	b.ReportMetric(float64(mn)/float64(ma), "nexo/api")
}

func medianDur(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
