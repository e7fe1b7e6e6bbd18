package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"posagent/agent"
	"posagent/agent/nexo"
	"posagent/uplink/acqsim"
)

// TestServeNexo: `posagent serve` with [nexo] enabled answers an encrypted
// nexo Payment over TLS on the same engine as its REST API (the payment is
// then visible through GET /v1/payments/{id}), and a Diagnosis. The nexo
// protocol itself is proven with Adyen's own library in agent/nexo.
func TestServeNexo(t *testing.T) {
	port := freePort(t)
	e := newServeEnv(t, fmt.Sprintf(`[nexo]
enabled = true
listen = "127.0.0.1:%d"
poiid = "posagent-T1"
[[nexo.keys]]
identifier = "posagent"
version = 1
passphrase = "serve test passphrase"
`, port))
	keyDir := filepath.Join(e.dir, "keys")
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	tlsDir := filepath.Join(e.dir, "acquirer-tls")
	cn, _ := nexo.CertName("posagent-T1")
	if err := acqsim.IssueServerCert(tlsDir, cn, nil, filepath.Join(keyDir, nexo.CertFileName), filepath.Join(keyDir, nexo.KeyFileName)); err != nil {
		t.Fatal(err)
	}
	_, c := e.start()

	key, err := nexo.DeriveKey("posagent", 1, "serve test passphrase")
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := nexo.NewKeyring(key)
	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(filepath.Join(tlsDir, acqsim.CAFile))
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: cn}}}
	send := func(category, serviceID, body string) string {
		t.Helper()
		header := fmt.Sprintf(`{"ProtocolVersion":"3.0","MessageClass":"Service","MessageCategory":%q,"MessageType":"Request","ServiceID":%q,"SaleID":"POS-1","POIID":"posagent-T1"}`, category, serviceID)
		doc := fmt.Sprintf(`{"SaleToPOIRequest":{"MessageHeader":%s,%q:%s}}`, header, category+"Request", body)
		sec, err := nexo.Seal(json.RawMessage(header), []byte(doc), key)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(map[string]any{"SaleToPOIRequest": sec})
		resp, err := hc.Post(fmt.Sprintf("https://127.0.0.1:%d/nexo/", port), "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out struct{ SaleToPOIResponse nexo.Secured }
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		clear, _, err := ring.Open(out.SaleToPOIResponse)
		if err != nil {
			t.Fatalf("opening the answer: %v: %s", err, raw)
		}
		return string(clear)
	}

	ans := send("Payment", "1001", `{"SaleData":{"SaleTransactionID":{"TransactionID":"TX-1001","TimeStamp":"2026-12-01T12:00:00Z"}},"PaymentTransaction":{"AmountsReq":{"Currency":"EUR","RequestedAmount":12.34}}}`)
	id := nexo.PaymentID("POS-1", "1001")
	if !strings.Contains(ans, `"Result":"Success"`) || !strings.Contains(ans, `"TransactionID":"`+id+`"`) {
		t.Fatalf("nexo payment: %s", ans)
	}
	p, err := c.Get(context.Background(), id)
	if err != nil || p.State != agent.StateApproved || p.Amount != 1234 || p.Reference != "TX-1001" {
		t.Fatalf("the nexo payment through the REST API: %+v %v", p, err)
	}
	if ans := send("Diagnosis", "1002", `{"HostDiagnosisFlag":true}`); !strings.Contains(ans, `"GlobalStatus":"Ok"`) || !strings.Contains(ans, `"IsReachableFlag":true`) {
		t.Fatalf("diagnosis: %s", ans)
	}
}
