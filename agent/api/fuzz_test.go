package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"posagent/agent"
	"posagent/agent/api"
)

// FuzzPaymentBody: any body on the write routes gets a JSON answer with a
// known code or a payment; nothing panics.
func FuzzPaymentBody(f *testing.F) {
	f.Add("/v1/payments", `{"id":"a","amount":1,"currency":"EUR"}`)
	f.Add("/v1/payments", `{"id":"a","amount":1e400,"currency":"EUR"}`)
	f.Add("/v1/payments", `{"id":"a","amount":-1,"currency":"EUR","wait":false}`)
	f.Add("/v1/refunds", `{"id":"r","payment_id":"a","amount":1}`)
	f.Add("/v1/payments/a/capture", `{"amount":1}`)
	f.Add("/v1/payments", "\x00{")
	eng := newFake()
	eng.auto = "approve"
	srv, err := api.New(eng, api.Options{Token: testToken})
	if err != nil {
		f.Fatal(err)
	}
	codes := map[string]bool{api.CodeInvalidRequest: true, api.CodeTooLarge: true, api.CodeConflict: true,
		api.CodeNotFound: true, api.CodeWrongState: true, api.CodeBusy: true, api.CodeUnsupported: true}
	f.Fuzz(func(t *testing.T, path, body string) {
		if !strings.HasPrefix(path, "/v1/") || strings.ContainsAny(path, " ?#%") {
			return
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return
		}
		req := httptest.NewRequest(http.MethodPost, "http://posagent"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code/100 == 3 { // the mux cleans paths such as /v1/./x by redirecting
			return
		}
		if rec.Code/100 == 2 {
			var p agent.Payment
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.ID == "" {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			return
		}
		var e api.Error
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || (!codes[e.Code] && rec.Code != 404) {
			t.Fatalf("%s %q: %d %s", path, body, rec.Code, rec.Body)
		}
	})
}

// FuzzReadEvents: any stream gives events or an error, never a panic.
func FuzzReadEvents(f *testing.F) {
	f.Add("id: 1\nevent: state\ndata: {\"id\":1,\"type\":\"state\",\"at\":\"2026-01-01T00:00:00Z\"}\n\n")
	f.Add(": heartbeat\n\nid: 2\ndata: {\n\n")
	f.Add("data: 1\ndata: 2\n\n")
	f.Fuzz(func(t *testing.T, stream string) {
		api.ReadEvents(strings.NewReader(stream), func(agent.Event) bool { return true })
	})
}
