package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"posagent/agent/api"
	"posagent/agent/api/apitest"
)

const testToken = "test-token-0123456789abcdef"

// harness runs the API server in process (httptest) and a client whose
// transport checks every request and response against openapi.yaml
// (apitest).
type harness struct {
	t      *testing.T
	srv    *api.Server
	http   *httptest.Server
	client *api.Client // with the token
	anon   *api.Client // without
}

func newHarness(t *testing.T, eng api.Engine, opts api.Options) *harness {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	srv, err := api.New(eng, opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	hc := &http.Client{Transport: apitest.Transport(t, hs.Client().Transport)}
	return &harness{t: t, srv: srv, http: hs,
		client: &api.Client{BaseURL: hs.URL, Token: opts.Token, HTTP: hc},
		anon:   &api.Client{BaseURL: hs.URL, HTTP: hc}}
}

// raw sends a request as given (header "Authorization" from token when
// set) through the validating transport and returns status and body.
func (h *harness) raw(method, path, token, body string) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.http.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.client.HTTP.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func bg() context.Context { return context.Background() }
