package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"posagent/agent/api"
)

const testToken = "test-token-0123456789abcdef"

// harness runs the API server in process (httptest) and a client whose
// transport validates every request and response against openapi.yaml.
type harness struct {
	t      *testing.T
	srv    *api.Server
	http   *httptest.Server
	client *api.Client // with the token
	anon   *api.Client // without
	spec   *specCheck
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
	sc := loadSpec(t)
	hc := &http.Client{Transport: &validatingTransport{t: t, spec: sc, next: hs.Client().Transport}}
	return &harness{t: t, srv: srv, http: hs, spec: sc,
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

// specCheck is the loaded OpenAPI document and its router.
type specCheck struct {
	doc    *openapi3.T
	router routers.Router
	event  *openapi3.Schema

	mu   sync.Mutex
	seen map[string]bool // "METHOD /path/template STATUS" validated
}

var (
	specOnce sync.Once
	specVal  *specCheck
	specErr  error
)

func loadSpec(t *testing.T) *specCheck {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.OpenAPI())
		if err != nil {
			specErr = fmt.Errorf("loading openapi.yaml: %w", err)
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			specErr = fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
			return
		}
		if !doc.IsOpenAPI31OrLater() {
			specErr = fmt.Errorf("openapi.yaml is %s, want 3.1", doc.OpenAPI)
			return
		}
		doc.Servers = nil // match the test server's address, not the documented one
		r, err := legacy.NewRouter(doc)
		if err != nil {
			specErr = err
			return
		}
		specVal = &specCheck{doc: doc, router: r, event: doc.Components.Schemas["Event"].Value, seen: map[string]bool{}}
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	return specVal
}

func init() {
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.PlainBodyDecoder)
}

// validatingTransport checks each request against the spec (a request the
// spec forbids must not get a 2xx) and each response always.
type validatingTransport struct {
	t    *testing.T
	spec *specCheck
	next http.RoundTripper
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	route, params, err := v.spec.router.FindRoute(req)
	if err != nil {
		// Not in the spec: only an error answer is acceptable.
		resp, rerr := v.next.RoundTrip(req)
		if rerr == nil && resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusUnauthorized {
			v.t.Errorf("openapi: %s %s is not in openapi.yaml (%v) but answered %d", req.Method, req.URL.Path, err, resp.StatusCode)
		}
		return resp, rerr
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(req.Context(), in)

	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if reqErr != nil && resp.StatusCode/100 == 2 {
		v.t.Errorf("openapi: %s %s: the spec refuses the request (%v) but the server answered %d", req.Method, req.URL.Path, reqErr, resp.StatusCode)
	}
	ct := resp.Header.Get("Content-Type")
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	if strings.HasPrefix(ct, "text/event-stream") {
		o := *opts
		o.ExcludeResponseBody = true
		rin.Options = &o
		rin.SetBodyBytes(nil)
		resp.Body = &sseChecker{t: v.t, schema: v.spec.event, rc: resp.Body}
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		rin.SetBodyBytes(body)
	}
	if err := openapi3filter.ValidateResponse(req.Context(), rin); err != nil {
		v.t.Errorf("openapi: %s %s -> %d does not match openapi.yaml: %v", req.Method, req.URL.Path, resp.StatusCode, err)
	}
	v.spec.mu.Lock()
	v.spec.seen[fmt.Sprintf("%s %s %d", req.Method, route.Path, resp.StatusCode)] = true
	v.spec.mu.Unlock()
	return resp, nil
}

// sseChecker validates each event's data against the Event schema as the
// client reads the stream.
type sseChecker struct {
	t      *testing.T
	schema *openapi3.Schema
	rc     io.ReadCloser
	buf    []byte
}

func (s *sseChecker) Read(p []byte) (int, error) {
	n, err := s.rc.Read(p)
	s.buf = append(s.buf, p[:n]...)
	for {
		i := bytes.Index(s.buf, []byte("\n\n"))
		if i < 0 {
			break
		}
		block := string(s.buf[:i])
		s.buf = s.buf[i+2:]
		for _, line := range strings.Split(block, "\n") {
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var v any
				if err := json.Unmarshal([]byte(data), &v); err != nil {
					s.t.Errorf("openapi: event data is not JSON: %v", err)
				} else if err := s.schema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
					s.t.Errorf("openapi: event %s does not match the Event schema: %v", data, err)
				}
			}
		}
	}
	return n, err
}

func (s *sseChecker) Close() error { return s.rc.Close() }

func bg() context.Context { return context.Background() }
