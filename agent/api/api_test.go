package api_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"posagent/agent"
	"posagent/agent/api"
	"posagent/agent/api/apitest"
	"posagent/emv"
)

// TestMain checks, after a full run, that the tests called every operation
// of openapi.yaml at least once (each through the checking transport).
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if spec, err := apitest.Load(); code == 0 && err == nil && spec.Seen() > 0 && flag.Lookup("test.run").Value.String() == "" {
		missing := spec.Missing(false)
		if testing.Verbose() {
			fmt.Printf("openapi: %d operation/status pairs checked, %d operations missed\n", spec.Seen(), len(missing))
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "openapi operations no test exercised: %v\n", missing)
			code = 1
		}
	}
	os.Exit(code)
}

func body(id string, amount int64) api.PaymentBody {
	return api.PaymentBody{ID: id, Amount: amount, Currency: "EUR", Reference: "till 1"}
}

func wantCode(t *testing.T, err error, status int, code string) *api.Error {
	t.Helper()
	var ae *api.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v (%T), want *api.Error %d %s", err, err, status, code)
	}
	if ae.Status != status || ae.Code != code {
		t.Fatalf("err = %d %s (%s), want %d %s", ae.Status, ae.Code, ae.Message, status, code)
	}
	return ae
}

func TestAuth(t *testing.T) {
	f := newFake()
	f.auto = "approve"
	h := newHarness(t, f, api.Options{})
	routes := []struct{ method, path, body string }{
		{"POST", "/v1/payments", `{"id":"a1","amount":100,"currency":"EUR"}`},
		{"GET", "/v1/payments/a1", ""},
		{"POST", "/v1/payments/a1/abort", ""},
		{"POST", "/v1/payments/a1/void", ""},
		{"POST", "/v1/payments/a1/capture", `{"amount":1}`},
		{"POST", "/v1/refunds", `{"id":"r1","payment_id":"a1","amount":1}`},
		{"GET", "/v1/totals", ""},
		{"GET", "/v1/status", ""},
		{"GET", "/v1/queue", ""},
		{"POST", "/v1/queue/forward", ""},
		{"GET", "/v1/events", ""},
		{"GET", "/metrics", ""},
		{"GET", "/v1/nothing-here", ""},
	}
	for _, tok := range []string{"", "wrong-token-0123456789", testToken + "x", strings.ToUpper(testToken)} {
		for _, r := range routes {
			status, b := h.raw(r.method, r.path, tok, r.body)
			if status != http.StatusUnauthorized || !strings.Contains(string(b), `"code":"unauthorized"`) {
				t.Errorf("%s %s with token %q: %d %s, want 401 unauthorized", r.method, r.path, tok, status, b)
			}
		}
	}
	// Basic instead of Bearer, and the token in the query string: refused.
	req, _ := http.NewRequest("GET", h.http.URL+"/v1/status?token="+testToken, nil)
	req.SetBasicAuth("x", testToken)
	resp, err := h.client.HTTP.Do(req)
	if err != nil || resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("basic auth: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()
	if len(f.order) != 0 {
		t.Fatalf("unauthorized requests did something: payments %v", f.order)
	}
	// Public routes.
	for _, p := range []string{"/healthz", "/readyz", "/v1/openapi.yaml"} {
		if status, b := h.raw("GET", p, "", ""); status != 200 {
			t.Errorf("GET %s without token: %d %s", p, status, b)
		}
	}
	// The right token, case-insensitive scheme.
	req, _ = http.NewRequest("GET", h.http.URL+"/v1/status", nil)
	req.Header.Set("Authorization", "bearer "+testToken)
	resp, err = h.client.HTTP.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("lower-case bearer: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()
}

func TestPayApproved(t *testing.T) {
	f := newFake()
	f.auto = "approve"
	h := newHarness(t, f, api.Options{})
	p, err := h.client.Pay(bg(), body("p1", 1234))
	if err != nil {
		t.Fatal(err)
	}
	if p.State != agent.StateApproved || p.AuthCode == "" || p.Receipt == nil || p.MaskedPAN != "476173******0010" || p.Amount != 1234 {
		t.Fatalf("payment %+v", p)
	}
	g, err := h.client.Get(bg(), "p1")
	if err != nil || g.State != agent.StateApproved || g.Created != p.Created {
		t.Fatalf("Get: %+v %v", g, err)
	}
	// Idempotency: the same body answers the stored payment, nothing new runs.
	again, err := h.client.Pay(bg(), body("p1", 1234))
	if err != nil || again.State != agent.StateApproved || again.Updated != p.Updated || len(f.order) != 1 {
		t.Fatalf("replay: %+v %v (payments %v)", again, err, f.order)
	}
	// wait:false on a stored final payment answers it too (200, final).
	if again, err = h.client.Start(bg(), body("p1", 1234)); err != nil || again.State != agent.StateApproved {
		t.Fatalf("replay without wait: %+v %v", again, err)
	}
	// A different body with the same id: 409 conflict.
	for _, b := range []api.PaymentBody{body("p1", 1235), {ID: "p1", Amount: 1234, Currency: "USD"}, {ID: "p1", Amount: 1234, Currency: "EUR"}} {
		_, err = h.client.Pay(bg(), b)
		if e := wantCode(t, err, 409, api.CodeConflict); !errors.Is(e, agent.ErrConflict) {
			t.Errorf("%v does not unwrap to agent.ErrConflict", e)
		}
	}
}

func TestPayDeclinedAndOffline(t *testing.T) {
	f := newFake()
	h := newHarness(t, f, api.Options{})
	go func() { f.tap <- "decline"; f.answer <- "05" }()
	p, err := h.client.Pay(bg(), body("d1", 500))
	if err != nil || p.State != agent.StateDeclined || p.Reason != agent.ReasonIssuerDeclined || p.Response != "05" {
		t.Fatalf("decline: %+v %v", p, err)
	}
	go func() { f.tap <- "offline" }()
	p, err = h.client.Pay(bg(), body("o1", 700))
	if err != nil || p.State != agent.StateApprovedOffline {
		t.Fatalf("offline: %+v %v", p, err)
	}
	q, err := h.client.Queue(bg())
	if err != nil || len(q) != 1 || q[0].ID != "o1" || q[0].Kind != "advice" {
		t.Fatalf("queue %+v %v", q, err)
	}
	st, err := h.client.Status(bg())
	if err != nil || st.Queue.ByState["pending"] != 1 || st.Queue.Outstanding["EUR"] != 700 || !st.Uplink.Up || len(st.Readers) != 1 {
		t.Fatalf("status %+v %v", st, err)
	}
	n, err := h.client.Forward(bg())
	if err != nil || n != 1 {
		t.Fatalf("forward %d %v", n, err)
	}
	if q, _ = h.client.Queue(bg()); len(q) != 0 {
		t.Fatalf("queue after forward: %+v", q)
	}
}

func TestNoWaitAndTimeout(t *testing.T) {
	f := newFake()
	h := newHarness(t, f, api.Options{PaymentTimeout: 100 * time.Millisecond})
	// wait:false: 202 with Location, at once.
	status, b := h.raw("POST", "/v1/payments", testToken, `{"id":"w1","amount":100,"currency":"EUR","wait":false}`)
	if status != 202 || !strings.Contains(string(b), `"state":"waiting_for_card"`) {
		t.Fatalf("wait false: %d %s", status, b)
	}
	if status, b = h.raw("GET", "/v1/payments/w1", testToken, ""); status != 202 {
		t.Fatalf("GET running payment: %d %s", status, b)
	}
	f.tap <- "approve"
	f.answer <- "00"
	p, err := h.client.Wait(bg(), "w1")
	if err != nil || p.State != agent.StateApproved {
		t.Fatalf("after tap: %+v %v", p, err)
	}
	// Blocking, but nobody taps: 202 with the current state after the timeout.
	start := time.Now()
	p, err = h.client.Pay(bg(), body("w2", 100))
	if err != nil || p.State != agent.StateWaitingForCard || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("timeout: %+v %v after %v", p, err, time.Since(start))
	}
	if _, err := h.client.Abort(bg(), "w2"); err != nil {
		t.Fatal(err)
	}
}

func TestBusyAndAbort(t *testing.T) {
	f := newFake()
	h := newHarness(t, f, api.Options{})
	if _, err := h.client.Start(bg(), body("b1", 100)); err != nil {
		t.Fatal(err)
	}
	_, err := h.client.Pay(bg(), body("b2", 200))
	e := wantCode(t, err, 409, api.CodeBusy)
	if e.InFlight != "b1" || !errors.Is(err, agent.ErrBusy) || !strings.Contains(e.Message, "b1") {
		t.Fatalf("busy: %+v", e)
	}
	if _, err := h.client.Get(bg(), "b2"); !errors.Is(err, agent.ErrNotFound) {
		t.Fatalf("busy request was stored: %v", err)
	}
	// Abort before the request left: aborted.
	p, err := h.client.Abort(bg(), "b1")
	if err != nil || p.State != agent.StateAborted || p.Reversed {
		t.Fatalf("abort before: %+v %v", p, err)
	}
	// Abort of a final payment: wrong_state.
	_, err = h.client.Abort(bg(), "b1")
	wantCode(t, err, 409, api.CodeWrongState)
	// Abort after the request left: reversed, and the answer says so.
	if _, err := h.client.Start(bg(), body("b3", 300)); err != nil {
		t.Fatal(err)
	}
	f.tap <- "approve"
	waitState(t, h, "b3", agent.StateOnline)
	p, err = h.client.Abort(bg(), "b3")
	if err != nil || p.State != agent.StateReversed || !p.Reversed {
		t.Fatalf("abort after: %+v %v", p, err)
	}
	_, err = h.client.Abort(bg(), "none")
	wantCode(t, err, 404, api.CodeNotFound)
}

func waitState(t *testing.T, h *harness, id string, s agent.State) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p, err := h.client.Get(bg(), id)
		if err == nil && p.State == s {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("payment %s: %+v %v, want state %s", id, p.State, err, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOperations(t *testing.T) {
	f := newFake()
	f.auto = "approve"
	h := newHarness(t, f, api.Options{})
	if _, err := h.client.Pay(bg(), body("v1", 1000)); err != nil {
		t.Fatal(err)
	}
	p, err := h.client.Void(bg(), "v1")
	if err != nil || p.State != agent.StateVoided {
		t.Fatalf("void: %+v %v", p, err)
	}
	// Void again: exactly once, same answer.
	if p, err = h.client.Void(bg(), "v1"); err != nil || p.State != agent.StateVoided {
		t.Fatalf("void again: %+v %v", p, err)
	}
	_, err = h.client.Void(bg(), "none")
	wantCode(t, err, 404, api.CodeNotFound)
	_, err = h.client.Capture(bg(), "v1", 10)
	wantCode(t, err, 409, api.CodeWrongState)

	// Pre-authorisation and capture.
	pb := body("pa1", 5000)
	pb.Capture = agent.CaptureManual
	if p, err = h.client.Pay(bg(), pb); err != nil || p.Kind != agent.KindPreAuth || p.State != agent.StateApproved {
		t.Fatalf("preauth: %+v %v", p, err)
	}
	_, err = h.client.Capture(bg(), "pa1", 6000)
	if e := wantCode(t, err, 400, api.CodeInvalidRequest); e.Field != "amount" {
		t.Fatalf("over-capture field %q", e.Field)
	}
	if p, err = h.client.Capture(bg(), "pa1", 4200); err != nil || p.State != agent.StateCaptured || p.Captured != 4200 {
		t.Fatalf("capture: %+v %v", p, err)
	}

	// Refund.
	if _, err := h.client.Pay(bg(), body("r0", 3000)); err != nil {
		t.Fatal(err)
	}
	rp, err := h.client.Refund(bg(), api.RefundBody{ID: "rf1", PaymentID: "r0", Amount: 1000})
	if err != nil || rp.Kind != agent.KindRefund || rp.State != agent.StateRefunded || rp.PaymentID != "r0" {
		t.Fatalf("refund: %+v %v", rp, err)
	}
	if rp, err = h.client.Refund(bg(), api.RefundBody{ID: "rf1", PaymentID: "r0", Amount: 1000}); err != nil || rp.State != agent.StateRefunded {
		t.Fatalf("refund replay: %+v %v", rp, err)
	}
	_, err = h.client.Refund(bg(), api.RefundBody{ID: "rf2", PaymentID: "r0", Amount: 2001})
	wantCode(t, err, 400, api.CodeInvalidRequest)
	_, err = h.client.Refund(bg(), api.RefundBody{ID: "rf3", PaymentID: "nope", Amount: 1})
	wantCode(t, err, 404, api.CodeNotFound)
	_, err = h.client.Refund(bg(), api.RefundBody{ID: "rf1", PaymentID: "r0", Amount: 999})
	wantCode(t, err, 409, api.CodeConflict)

	// Totals: default cut-off (today), an explicit one, a date, and garbage.
	tot, err := h.client.Totals(bg(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sum := map[agent.State]int64{}
	for _, l := range tot.Rows {
		sum[l.State] += l.Amount
	}
	if sum["voided"] != 1000 || sum["captured"] != 5000 || sum["approved"] != 3000 || sum["refunded"] != 1000 || tot.Net["EUR"] != 7000 {
		t.Fatalf("totals %+v", tot)
	}
	if tot, err = h.client.Totals(bg(), time.Now().Add(time.Hour)); err != nil || len(tot.Rows) != 0 {
		t.Fatalf("totals since the future: %+v %v", tot, err)
	}
	if status, b := h.raw("GET", "/v1/totals?since="+time.Now().Format("2006-01-02"), testToken, ""); status != 200 || !strings.Contains(string(b), `"approved"`) {
		t.Fatalf("totals since a date: %d %s", status, b)
	}
	if status, b := h.raw("GET", "/v1/totals?since=yesterday", testToken, ""); status != 400 || !strings.Contains(string(b), `"field":"since"`) {
		t.Fatalf("bad since: %d %s", status, b)
	}
}

func TestBadRequests(t *testing.T) {
	f := newFake()
	f.auto = "approve"
	h := newHarness(t, f, api.Options{})
	cases := []struct {
		name, path, ct, body string
		status               int
		code, field          string
	}{
		{"unknown field", "/v1/payments", "application/json", `{"id":"x","amount":1,"currency":"EUR","pan":"4761"}`, 400, api.CodeInvalidRequest, "pan"},
		{"fractional amount", "/v1/payments", "application/json", `{"id":"x","amount":12.5,"currency":"EUR"}`, 400, api.CodeInvalidRequest, "amount"},
		{"string amount", "/v1/payments", "application/json", `{"id":"x","amount":"12","currency":"EUR"}`, 400, api.CodeInvalidRequest, "amount"},
		{"no amount", "/v1/payments", "application/json", `{"id":"x","currency":"EUR"}`, 400, api.CodeInvalidRequest, "amount"},
		{"numeric currency", "/v1/payments", "application/json", `{"id":"x","amount":1,"currency":"978"}`, 400, api.CodeInvalidRequest, "currency"},
		{"bad capture", "/v1/payments", "application/json", `{"id":"x","amount":1,"currency":"EUR","capture":"later"}`, 400, api.CodeInvalidRequest, "capture"},
		{"bad offline", "/v1/payments", "application/json", `{"id":"x","amount":1,"currency":"EUR","offline":"maybe"}`, 400, api.CodeInvalidRequest, "offline"},
		{"no id", "/v1/payments", "application/json", `{"amount":1,"currency":"EUR"}`, 400, api.CodeInvalidRequest, "id"},
		{"syntax", "/v1/payments", "application/json", `{"id":"x",`, 400, api.CodeInvalidRequest, ""},
		{"two objects", "/v1/payments", "application/json", `{"id":"x","amount":1,"currency":"EUR"}{}`, 400, api.CodeInvalidRequest, ""},
		{"empty", "/v1/payments", "application/json", ``, 400, api.CodeInvalidRequest, ""},
		{"array", "/v1/payments", "application/json", `[1]`, 400, api.CodeInvalidRequest, ""},
		{"form", "/v1/payments", "application/x-www-form-urlencoded", `id=x`, 415, api.CodeUnsupported, ""},
		{"too large", "/v1/payments", "application/json", `{"id":"` + strings.Repeat("x", 70000) + `"}`, 413, api.CodeTooLarge, ""},
		{"capture body", "/v1/payments/x/capture", "application/json", `{"amount":"all"}`, 400, api.CodeInvalidRequest, "amount"},
		{"refund body", "/v1/refunds", "application/json", `{"id":"r","payment_id":"p","amount":1,"extra":1}`, 400, api.CodeInvalidRequest, "extra"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", h.http.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ct)
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := h.client.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e api.Error
			if err := jsonDecode(resp, &e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || e.Code != tc.code || e.Field != tc.field || e.Message == "" {
				t.Fatalf("%d %+v, want %d %s field %q", resp.StatusCode, e, tc.status, tc.code, tc.field)
			}
		})
	}
	if len(f.order) != 0 {
		t.Fatalf("bad requests created payments: %v", f.order)
	}
	status, b := h.raw("GET", "/v1/payments/none", testToken, "")
	if status != 404 || !strings.Contains(string(b), `"code":"not_found"`) {
		t.Fatalf("unknown payment: %d %s", status, b)
	}
	status, b = h.raw("DELETE", "/v1/payments/none", testToken, "")
	if status != 404 || !strings.Contains(string(b), `"code":"not_found"`) {
		t.Fatalf("unknown route: %d %s", status, b)
	}
}

func TestEventsResume(t *testing.T) {
	f := newFake()
	f.auto = "approve"
	h := newHarness(t, f, api.Options{Heartbeat: 20 * time.Millisecond})
	if _, err := h.client.Pay(bg(), body("e1", 100)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg(), 5*time.Second)
	defer cancel()
	var got []agent.Event
	err := h.client.Events(ctx, 0, func(ev agent.Event) bool {
		got = append(got, ev)
		return ev.State != agent.StateApproved
	})
	if err != nil || len(got) < 4 {
		t.Fatalf("events: %v %+v", err, got)
	}
	for i, ev := range got {
		if ev.ID != uint64(i+1) || ev.Payment != "e1" {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	// Resume after the third event: the fourth comes first; then live events of a new payment.
	done := make(chan []agent.Event)
	go func() {
		var later []agent.Event
		h.client.Events(ctx, 3, func(ev agent.Event) bool {
			later = append(later, ev)
			return !(ev.Payment == "e2" && ev.State.Final())
		})
		done <- later
	}()
	time.Sleep(50 * time.Millisecond) // past a heartbeat or two
	if _, err := h.client.Pay(bg(), body("e2", 200)); err != nil {
		t.Fatal(err)
	}
	later := <-done
	if len(later) == 0 || later[0].ID != 4 || later[len(later)-1].Payment != "e2" {
		t.Fatalf("resumed: %+v", later)
	}
	// The raw stream: id, event and data lines, heartbeat comments.
	req, _ := http.NewRequestWithContext(ctx, "GET", h.http.URL+"/v1/events?last_event_id=1", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := h.client.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 8192)
	tmp := make([]byte, 1024)
	for !strings.Contains(string(buf), ": heartbeat") {
		n, err := resp.Body.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	s := string(buf)
	if resp.Header.Get("Content-Type") != "text/event-stream" || !strings.Contains(s, "id: 2\nevent: state\ndata: {") || strings.Contains(s, "id: 1\n") || !strings.Contains(s, ": heartbeat\n\n") {
		t.Fatalf("stream:\n%s", s)
	}
	if status, b := h.raw("GET", "/v1/events?last_event_id=abc", testToken, ""); status != 400 {
		t.Fatalf("bad last_event_id: %d %s", status, b)
	}
}

func TestMountsAndProbes(t *testing.T) {
	f := newFake()
	ready := errors.New("uplink not signed on")
	mounts := []api.Mount{
		{Pattern: "GET /display/", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("display")) }), Public: true},
		{Pattern: "POST /nexo", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("nexo")) })},
	}
	srv, err := api.New(f, api.Options{Token: testToken, Mounts: mounts, Ready: func() error { return ready }})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, tok string) (int, string) {
		req := httptestRequest(method, path, tok)
		rec := newRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if c, b := do("GET", "/display/x", ""); c != 200 || b != "display" {
		t.Errorf("public mount: %d %s", c, b)
	}
	if c, _ := do("POST", "/nexo", ""); c != 401 {
		t.Errorf("private mount without token: %d", c)
	}
	if c, b := do("POST", "/nexo", testToken); c != 200 || b != "nexo" {
		t.Errorf("private mount: %d %s", c, b)
	}
	if c, b := do("GET", "/readyz", ""); c != 503 || !strings.Contains(b, "uplink not signed on") {
		t.Errorf("readyz not ready: %d %s", c, b)
	}
	ready = nil
	if c, _ := do("GET", "/readyz", ""); c != 200 {
		t.Errorf("readyz: %d", c)
	}
	// The exported token check, as another package would use it.
	if !srv.Auth().Check(httptestRequest("GET", "/", testToken)) || srv.Auth().Check(httptestRequest("GET", "/", "nope-nope-nope-nope")) {
		t.Error("Auth().Check")
	}
	// A mount that collides with an API route is an error, not a panic.
	if _, err := api.New(f, api.Options{Token: testToken, Mounts: []api.Mount{{Pattern: "POST /v1/payments", Handler: http.NotFoundHandler()}}}); err == nil {
		t.Error("conflicting mount accepted")
	}
	if _, err := api.New(f, api.Options{Token: "short"}); err == nil {
		t.Error("short token accepted")
	}
}

func TestMetrics(t *testing.T) {
	f := newFake()
	f.auto = "offline"
	h := newHarness(t, f, api.Options{})
	p, err := h.client.Pay(bg(), body("m1", 100))
	if err != nil {
		t.Fatal(err)
	}
	var obs agent.Observer = h.srv.Metrics() // what serve hands the engine
	obs.Final(p)
	obs.Tap("simulated", 180*time.Millisecond, emv.Report{})
	obs.Online(1200*time.Millisecond, "approved")
	obs.Uplink(true)
	status, b := h.raw("GET", "/metrics", testToken, "")
	s := string(b)
	for _, want := range []string{
		`posagent_payments_total{kind="purchase",outcome="approved_offline"} 1`,
		`posagent_tap_duration_seconds_bucket{le="0.2"} 1`,
		`posagent_online_duration_seconds_count{result="approved"} 1`,
		`posagent_uplink_up 1`,
		`posagent_queue_depth 1`,
		`posagent_queue_oldest_age_seconds `,
		`go_goroutines `,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if status != 200 || strings.Contains(s, `posagent_queue_oldest_age_seconds 0`+"\n") {
		t.Fatalf("metrics %d:\n%s", status, s)
	}
}
