package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/agent"
)

// fakeEngine is a unit-test stand-in for the two Engine methods the pages
// use; the browser tests run against the real engine.
type fakeEngine struct {
	mu       sync.Mutex
	events   []agent.Event
	subs     map[chan agent.Event]bool
	payments map[string]agent.Payment
	lastSub  uint64
}

func newFake() *fakeEngine {
	return &fakeEngine{subs: map[chan agent.Event]bool{}, payments: map[string]agent.Payment{}}
}

func (f *fakeEngine) Subscribe(last uint64) (<-chan agent.Event, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastSub = last
	ch := make(chan agent.Event, 64)
	for _, e := range f.events {
		if e.ID > last {
			ch <- e
		}
	}
	f.subs[ch] = true
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.subs, ch)
	}
}

func (f *fakeEngine) Get(id string) (agent.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.payments[id]
	if !ok {
		return agent.Payment{}, agent.ErrNotFound
	}
	return p, nil
}

func (f *fakeEngine) List(since time.Time, limit int) ([]agent.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []agent.Payment
	for _, p := range f.payments {
		if !p.Created.Before(since) && len(out) < limit {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakeEngine) emit(e agent.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e.ID = uint64(len(f.events) + 1)
	e.At = time.Now()
	f.events = append(f.events, e)
	for ch := range f.subs {
		ch <- e
	}
}

func TestDisplayEventFilter(t *testing.T) {
	pays := map[string]agent.Payment{
		"p1": {ID: "p1", State: agent.StateApproved, Amount: 1234, Currency: "EUR", MaskedPAN: "476173******0119", Scheme: "visa", AuthCode: "123456", Kind: agent.KindPurchase},
		"p2": {ID: "p2", State: agent.StateWaitingForCard, Amount: 500, Currency: "TWD", EntryMode: EntryQRMerchant},
		"p3": {ID: "p3", State: agent.StateDeclined, MaskedPAN: "xx"},
	}
	get := func(id string) (agent.Payment, error) {
		p, ok := pays[id]
		if !ok {
			return p, agent.ErrNotFound
		}
		return p, nil
	}
	tests := []struct {
		name string
		in   agent.Event
		show bool
		want DisplayEvent
	}{
		{"queue news dropped", agent.Event{ID: 1, Type: "queue", Message: "3 entries"}, false, DisplayEvent{}},
		{"offline decline dropped", agent.Event{ID: 2, Type: "declined_offline", Payment: "p1"}, false, DisplayEvent{}},
		{"prompt kept, message dropped", agent.Event{ID: 3, Type: "prompt", Payment: "p1", Prompt: "present_card", Amount: 1234, Currency: "EUR", Message: "PAN 4761739001010119"},
			true, DisplayEvent{ID: 3, Type: "prompt", Payment: "p1", Prompt: "present_card", Amount: 1234, Currency: "EUR", Kind: agent.KindPurchase}},
		{"final state carries last four only", agent.Event{ID: 4, Type: "state", Payment: "p1", State: agent.StateApproved},
			true, DisplayEvent{ID: 4, Type: "state", Payment: "p1", State: agent.StateApproved, Amount: 1234, Currency: "EUR", Kind: agent.KindPurchase, Last4: "0119"}},
		{"merchant QR in flight", agent.Event{ID: 5, Type: "state", Payment: "p2", State: agent.StateWaitingForCard},
			true, DisplayEvent{ID: 5, Type: "state", Payment: "p2", State: agent.StateWaitingForCard, Amount: 500, Currency: "TWD", QR: true}},
		{"odd prompt dropped", agent.Event{ID: 6, Type: "prompt", Payment: "p1", Prompt: "<script>"}, false, DisplayEvent{}},
		{"bad masked PAN gives no digits", agent.Event{ID: 7, Type: "state", Payment: "p3", State: agent.StateDeclined},
			true, DisplayEvent{ID: 7, Type: "state", Payment: "p3", State: agent.StateDeclined}},
		{"id with control bytes dropped", agent.Event{ID: 8, Type: "state", Payment: "a\nb"}, false, DisplayEvent{}},
		{"bad currency blanked", agent.Event{ID: 9, Type: "prompt", Payment: "zz", Prompt: "processing", Currency: "eu<"},
			true, DisplayEvent{ID: 9, Type: "prompt", Payment: "zz", Prompt: "processing"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, show := displayEvent(tc.in, get)
			if show != tc.show {
				t.Fatalf("show = %v, want %v", show, tc.show)
			}
			got.At = time.Time{}
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
			b, _ := json.Marshal(got)
			for _, bad := range []string{"476173", "4761739001010119", "123456", "visa"} {
				if strings.Contains(string(b), bad) {
					t.Fatalf("display event %s carries %q", b, bad)
				}
			}
		})
	}
}

func TestPairing(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	p := newPairing([]byte(strings.Repeat("k", 32)), time.Minute, func() time.Time { return now })
	code, _, err := p.newCode()
	if err != nil || len(code) != codeDigits {
		t.Fatalf("code %q %v", code, err)
	}
	tok, ok := p.redeem(code[:4] + " " + code[4:])
	if !ok || !p.validToken(tok) {
		t.Fatalf("redeem: %q %v", tok, ok)
	}
	if _, ok := p.redeem(code); ok {
		t.Fatal("a code was used twice")
	}
	other := newPairing([]byte(strings.Repeat("x", 32)), time.Minute, p.now)
	if other.validToken(tok) {
		t.Fatal("a token signed under another key is valid")
	}
	for _, bad := range []string{"", "d1.", "d1.abc", tok + "x", strings.Replace(tok, "d1.", "d2.", 1), tok[:len(tok)-2]} {
		if p.validToken(bad) {
			t.Errorf("token %q accepted", bad)
		}
	}

	t.Run("expiry", func(t *testing.T) {
		c, _, _ := p.newCode()
		now = now.Add(2 * time.Minute)
		if _, ok := p.redeem(c); ok {
			t.Fatal("expired code accepted")
		}
	})
	t.Run("guessing voids open codes", func(t *testing.T) {
		c, _, _ := p.newCode()
		for i := 0; i < maxFailures; i++ {
			wrong := "00000000"
			if wrong == c {
				wrong = "11111111"
			}
			if _, ok := p.redeem(wrong); ok {
				t.Fatal("wrong code accepted")
			}
		}
		if _, ok := p.redeem(c); ok {
			t.Fatal("code still valid after repeated wrong guesses")
		}
	})
	t.Run("open codes are bounded", func(t *testing.T) {
		for i := 0; i < 3*maxOpenCodes; i++ {
			p.newCode()
		}
		if n := len(p.codes); n > maxOpenCodes {
			t.Fatalf("%d open codes", n)
		}
	})
}

func TestLoopbackRequest(t *testing.T) {
	tests := []struct {
		remote, host string
		want         bool
	}{
		{"127.0.0.1:5000", "127.0.0.1:8080", true},
		{"127.0.0.1:5000", "localhost:8080", true},
		{"[::1]:5000", "[::1]:8080", true},
		{"127.0.0.1:5000", "evil.example:8080", false}, // DNS rebinding
		{"192.168.1.20:5000", "192.168.1.10:8080", false},
		{"garbage", "localhost", false},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", "/display/events", nil)
		r.RemoteAddr, r.Host = tc.remote, tc.host
		if got := loopbackRequest(r); got != tc.want {
			t.Errorf("remote %s host %s: %v, want %v", tc.remote, tc.host, got, tc.want)
		}
	}
}

func newTestServer(t *testing.T, f *fakeEngine) *Server {
	t.Helper()
	s, err := New(Options{
		Engine:    f,
		Merchant:  "Test Shop",
		Heartbeat: 50 * time.Millisecond,
		Authorize: func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer sekrit" },
		QR: func(ctx context.Context, id string) ([]byte, error) {
			return []byte("\x89PNG fake " + id), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPagesAndAssets(t *testing.T) {
	s := newTestServer(t, newFake())
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/display", "text/html", `src="/web/display.js"`},
		{"/console", "text/html", `src="/web/console.js"`},
		{"/web/display.js", "javascript", "openStream"},
		{"/web/sse.js", "javascript", "Last-Event-ID"},
		{"/web/i18n.js", "javascript", "zh-Hant"},
		{"/web/display.css", "text/css", "clamp("},
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Type"), tc.ctype) || !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("%s: %d %q", tc.path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if strings.HasPrefix(tc.ctype, "text/html") && !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: no CSP", tc.path)
		}
		if strings.Contains(rec.Body.String(), "http://") || strings.Contains(rec.Body.String(), "https://") {
			t.Errorf("%s loads something from the internet", tc.path)
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/web/", nil))
	if rec.Code != 404 {
		t.Errorf("directory listing: %d", rec.Code)
	}
}

// remote makes a request as if from another machine on the LAN.
func remote(method, path, body string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr, r.Host = "192.168.1.20:40000", "192.168.1.10:8443"
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

func TestRemoteDisplayPairs(t *testing.T) {
	f := newFake()
	f.payments["qr1"] = agent.Payment{ID: "qr1", State: agent.StateWaitingForCard, EntryMode: EntryQRMerchant}
	s := newTestServer(t, f)
	do := func(r *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		return rec
	}
	if rec := do(remote("GET", "/display/events", "")); rec.Code != 401 {
		t.Fatalf("unpaired remote display read the stream: %d", rec.Code)
	}
	if rec := do(remote("GET", "/display/qr/qr1.png", "")); rec.Code != 401 {
		t.Fatalf("unpaired remote display read a code: %d", rec.Code)
	}
	var cfg map[string]any
	json.Unmarshal(do(remote("GET", "/display/config", "")).Body.Bytes(), &cfg)
	if cfg["authorized"] != false || cfg["merchant"] != "Test Shop" {
		t.Fatalf("config %v", cfg)
	}
	if rec := do(remote("POST", "/display/codes", "")); rec.Code != 401 {
		t.Fatalf("code without the API token: %d", rec.Code)
	}
	r := remote("POST", "/display/codes", "")
	r.Header.Set("Authorization", "Bearer sekrit")
	rec := do(r)
	var code struct{ Code string }
	if rec.Code != 201 || json.Unmarshal(rec.Body.Bytes(), &code) != nil {
		t.Fatalf("new code: %d %s", rec.Code, rec.Body)
	}
	form := remote("POST", "/display/pair", `{"code":"`+code.Code+`"}`)
	form.Header.Set("Content-Type", "text/plain")
	if rec := do(form); rec.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("cross-site form post: %d", rec.Code)
	}
	if rec := do(remote("POST", "/display/pair", `{"code":"12"}`)); rec.Code != 403 {
		t.Fatalf("bad code: %d", rec.Code)
	}
	rec = do(remote("POST", "/display/pair", `{"code":"`+code.Code+`"}`))
	cookies := rec.Result().Cookies()
	if rec.Code != 200 || len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("pair: %d %v", rec.Code, cookies)
	}
	q := remote("GET", "/display/qr/qr1.png", "")
	q.AddCookie(cookies[0])
	if rec := do(q); rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" {
		t.Fatalf("paired display qr: %d", rec.Code)
	}
	f.payments["qr1"] = agent.Payment{ID: "qr1", State: agent.StateApproved, EntryMode: EntryQRMerchant}
	q = remote("GET", "/display/qr/qr1.png", "")
	q.AddCookie(cookies[0])
	if rec := do(q); rec.Code != http.StatusGone {
		t.Fatalf("final payment's code still served: %d", rec.Code)
	}
	// The paired cookie opens the stream, and nothing else of the API.
	ts := httptest.NewServer(s)
	defer ts.Close()
	req, _ := http.NewRequest("GET", ts.URL+"/display/events", nil)
	req.Host = "display.shop.lan"
	req.AddCookie(cookies[0])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("paired stream: %d", res.StatusCode)
	}
}

// sseRead reads events from a stream until n data events have come.
func sseRead(t *testing.T, sc *bufio.Scanner, n int) (ids []string, data []string) {
	t.Helper()
	id := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			ids = append(ids, id)
			data = append(data, strings.TrimPrefix(line, "data: "))
			if len(data) == n {
				return
			}
		}
	}
	t.Fatalf("stream ended after %d events: %v", len(data), sc.Err())
	return
}

func TestDisplayStreamResumes(t *testing.T) {
	f := newFake()
	f.payments["p1"] = agent.Payment{ID: "p1", State: agent.StateApproved, MaskedPAN: "541333******4111", Amount: 700, Currency: "EUR"}
	s := newTestServer(t, f)
	ts := httptest.NewServer(s)
	defer ts.Close()
	f.emit(agent.Event{Type: "prompt", Payment: "p1", Prompt: "present_card", Amount: 700, Currency: "EUR"})
	f.emit(agent.Event{Type: "queue", Message: "advice queued"})
	f.emit(agent.Event{Type: "state", Payment: "p1", State: agent.StateApproved})

	open := func(last string) (*bufio.Scanner, func()) {
		req, _ := http.NewRequest("GET", ts.URL+"/display/events", nil)
		if last != "" {
			req.Header.Set("Last-Event-ID", last)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		return bufio.NewScanner(res.Body), func() { res.Body.Close() }
	}
	sc, stop := open("")
	ids, data := sseRead(t, sc, 2)
	stop()
	if ids[0] != "1" || ids[1] != "3" || !strings.Contains(data[1], `"last4":"4111"`) || strings.Contains(data[1], "541333") {
		t.Fatalf("ids %v data %v", ids, data)
	}
	sc, stop = open("1")
	defer stop()
	ids, _ = sseRead(t, sc, 1)
	if ids[0] != "3" || f.lastSub != 1 {
		t.Fatalf("resume after 1 gave %v (subscribed after %d)", ids, f.lastSub)
	}
	f.emit(agent.Event{Type: "prompt", Payment: "p2", Prompt: "remove_card"})
	ids, data = sseRead(t, sc, 1)
	if ids[0] != "4" || !strings.Contains(data[0], "remove_card") {
		t.Fatalf("live event: %v %v", ids, data)
	}

	// A display that comes back asks for the payment it shows as it is now:
	// one event without an id, then the stream.
	f.payments["p9"] = agent.Payment{ID: "p9", State: agent.StateReversed, Amount: 777, Currency: "EUR", MaskedPAN: "476173******0119", Updated: time.Now()}
	res0, err := http.Get(ts.URL + "/display/events?payment=p9")
	if err != nil {
		t.Fatal(err)
	}
	sc0 := bufio.NewScanner(res0.Body)
	ids, data = sseRead(t, sc0, 2)
	res0.Body.Close()
	if ids[0] != "" || !strings.Contains(data[0], `"state":"reversed"`) || !strings.Contains(data[0], `"last4":"0119"`) || ids[1] != "1" {
		t.Fatalf("snapshot: ids %q data %v", ids, data)
	}

	req, _ := http.NewRequest("GET", ts.URL+"/display/events", nil)
	req.Header.Set("Last-Event-ID", "abc")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Fatalf("bad Last-Event-ID: %d", res.StatusCode)
	}
}

func TestConsolePayments(t *testing.T) {
	f := newFake()
	f.payments["p1"] = agent.Payment{ID: "p1", State: agent.StateApproved, Created: time.Now()}
	s := newTestServer(t, f)
	for _, tc := range []struct {
		auth, query string
		code        int
	}{
		{"", "", 401},
		{"Bearer wrong", "", 401},
		{"Bearer sekrit", "", 200},
		{"Bearer sekrit", "?since=yesterday", 400},
		{"Bearer sekrit", "?limit=0", 400},
		{"Bearer sekrit", "?since=2000-01-01T00:00:00Z&limit=5", 200},
	} {
		r := httptest.NewRequest("GET", "/console/payments"+tc.query, nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		if rec.Code != tc.code {
			t.Errorf("%q %s: %d, want %d", tc.auth, tc.query, rec.Code, tc.code)
		}
		if rec.Code == 200 && !strings.Contains(rec.Body.String(), `"id":"p1"`) {
			t.Errorf("list: %s", rec.Body)
		}
	}
}

func TestQRFromAPI(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		if r.URL.Path != "/v1/payments/a%2Fb/qr.png" && r.URL.EscapedPath() != "/v1/payments/a%2Fb/qr.png" {
			w.WriteHeader(404)
			return
		}
		w.Write([]byte("png"))
	})
	got, err := QRFromAPI(api, func() string { return "tok" })(context.Background(), "a/b")
	if err != nil || string(got) != "png" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := QRFromAPI(api, func() string { return "bad" })(context.Background(), "a/b"); err == nil {
		t.Fatal("401 not an error")
	}
	// The qr.png handler itself, outside a mux, reads the {id} path value.
	direct := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("code of " + r.PathValue("id"))) })
	if got, err := QRFromAPI(direct, func() string { return "tok" })(context.Background(), "p1"); err != nil || string(got) != "code of p1" {
		t.Fatalf("direct handler: %q %v", got, err)
	}
}

// FuzzDecoders feeds hostile bytes to everything the pages parse from a
// request: Last-Event-ID, pairing codes, display tokens.
func FuzzDecoders(f *testing.F) {
	p := newPairing([]byte(strings.Repeat("k", 32)), time.Minute, time.Now)
	for _, s := range []string{"", "0", "18446744073709551615", "18446744073709551616", "-1", " 12 ", "1234 5678", "d1.abc.def", "d1..", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := parseLastEventID(s); err == nil && s != "" && strings.TrimSpace(s) != "" && n == 0 && strings.Trim(strings.TrimSpace(s), "0") != "" {
			t.Fatalf("%q parsed as 0", s)
		}
		if c := normaliseCode(s); len(c) > codeDigits {
			t.Fatalf("code %q", c)
		}
		if p.validToken(s) {
			t.Fatalf("forged token %q accepted", s)
		}
		displayEvent(agent.Event{Type: "prompt", Payment: s, Prompt: s, Currency: s}, nil)
		if l := lastFour(s); l != "" && !strings.HasSuffix(s, l) {
			t.Fatalf("lastFour(%q) = %q", s, l)
		}
	})
}
