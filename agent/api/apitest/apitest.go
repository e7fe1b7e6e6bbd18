// Package apitest checks HTTP traffic against the local API's OpenAPI 3.1
// description (agent/api/openapi.yaml) with kin-openapi, so tests of the
// API, of `posagent serve` and of the demo catch any drift between the
// server and its description. It is for tests only.
package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"posagent/agent/api"
)

// Spec is the loaded description with the operations seen so far.
type Spec struct {
	doc    *openapi3.T
	router routers.Router
	event  *openapi3.Schema

	mu   sync.Mutex
	seen map[string]bool // "METHOD /path/template STATUS"
}

var (
	once    sync.Once
	spec    *Spec
	specErr error
)

// Load parses and validates openapi.yaml (once per process): it must be a
// valid OpenAPI 3.1 document.
func Load() (*Spec, error) {
	once.Do(func() {
		openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.PlainBodyDecoder)
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
		doc.Servers = nil // match any test server's address, not the documented one
		r, err := legacy.NewRouter(doc)
		if err != nil {
			specErr = err
			return
		}
		spec = &Spec{doc: doc, router: r, event: doc.Components.Schemas["Event"].Value, seen: map[string]bool{}}
	})
	return spec, specErr
}

// Missing lists the operations ("GET /v1/status") no checked request has
// exercised yet. Operations a mount outside agent/api serves (marked
// x-mounted-by) count only when mounted is true.
func (s *Spec) Missing(mounted bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var missing []string
	for path, item := range s.doc.Paths.Map() {
		for method, op := range item.Operations() {
			if _, ok := op.Extensions["x-mounted-by"]; ok && !mounted {
				continue
			}
			found := false
			for k := range s.seen {
				if strings.HasPrefix(k, method+" "+path+" ") {
					found = true
				}
			}
			if !found {
				missing = append(missing, method+" "+path)
			}
		}
	}
	slices.Sort(missing)
	return missing
}

// Seen is how many operation/status pairs were checked.
func (s *Spec) Seen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// Transport returns a RoundTripper that checks every request and response
// through next (nil: http.DefaultTransport) and reports mismatches with
// t.Errorf: a request the description refuses must not get a 2xx, a route
// it does not have may only get 401 or 404, and every response must match
// its operation (status documented, body valid; each SSE event's data
// valid against the Event schema as it is read).
func Transport(t testing.TB, next http.RoundTripper) http.RoundTripper {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{t: t, spec: s, next: next}
}

type transport struct {
	t    testing.TB
	spec *Spec
	next http.RoundTripper
}

func (v *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	route, params, err := v.spec.router.FindRoute(req)
	if err != nil {
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
		v.t.Errorf("openapi: %s %s: the description refuses the request (%v) but the server answered %d", req.Method, req.URL.Path, reqErr, resp.StatusCode)
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
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
	t      testing.TB
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
