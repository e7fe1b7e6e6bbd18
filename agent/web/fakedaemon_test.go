package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skip2/go-qrcode"

	"posagent/agent"
)

// The fake daemon is a stand-in for `posagent serve` while the real engine
// and API are not in this branch: a separate process (this test binary run
// again) with the documented routes, a scripted payment flow and a JSON
// state file, so the browser test can kill -9 it and start it again. The
// browser test prefers the real daemon when it is there.

const fakeDaemonEnv = "POSAGENT_WEB_FAKE_DAEMON" // "ADDR DIR"

// childModes are the daemons this test binary runs as a child process,
// by the environment variable that holds their configuration.
var childModes = map[string]func(string) error{fakeDaemonEnv: runFakeDaemonEnv}

func TestMain(m *testing.M) {
	for env, run := range childModes {
		if v := os.Getenv(env); v != "" {
			if err := run(v); err != nil {
				fmt.Fprintln(os.Stderr, env+":", err)
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

func runFakeDaemonEnv(v string) error {
	addr, dir, _ := strings.Cut(v, " ")
	return runFakeDaemon(addr, dir)
}

// QR amounts: a payment of this many minor units is merchant-presented.
const (
	fakeQRAmount   = 4242
	fakeSlowAmount = 777 // waits 6 s "online"
	fakeToken      = "fake-daemon-token"
)

type fakeState struct {
	Next     uint64                   `json:"next"`
	Events   []agent.Event            `json:"events"`
	Payments map[string]agent.Payment `json:"payments"`
}

type fakeDaemon struct {
	mu   sync.Mutex
	path string
	st   fakeState
	subs map[chan agent.Event]bool
}

func (d *fakeDaemon) save() {
	b, _ := json.Marshal(d.st)
	os.WriteFile(d.path+".tmp", b, 0o600)
	os.Rename(d.path+".tmp", d.path)
}

func (d *fakeDaemon) publish(e agent.Event) {
	d.st.Next++
	e.ID, e.At = d.st.Next, time.Now().UTC()
	d.st.Events = append(d.st.Events, e)
	d.save() // event ids go on increasing after a restart
	for ch := range d.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

func (d *fakeDaemon) setState(id string, s agent.State) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.st.Payments[id]
	p.State, p.Updated = s, time.Now().UTC()
	p.History = append(p.History, agent.Step{State: s, At: p.Updated})
	if s.Final() && s != agent.StateReversed && p.EntryMode != EntryQRMerchant {
		p.MaskedPAN, p.Scheme = "476173******0119", "visa"
	}
	if s.Final() {
		p.Receipt = &agent.Receipt{Customer: []string{"FAKE SHOP", "AMOUNT " + fmt.Sprint(p.Amount), string(s)}}
	}
	d.st.Payments[id] = p
	d.publish(agent.Event{Type: "state", Payment: id, State: s})
}

func (d *fakeDaemon) prompt(id, prompt string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.publish(agent.Event{Type: "prompt", Payment: id, Prompt: prompt})
}

func (d *fakeDaemon) Subscribe(last uint64) (<-chan agent.Event, func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ch := make(chan agent.Event, 256)
	for _, e := range d.st.Events {
		if e.ID > last {
			ch <- e
		}
	}
	d.subs[ch] = true
	return ch, func() { d.mu.Lock(); delete(d.subs, ch); d.mu.Unlock() }
}

func (d *fakeDaemon) Get(id string) (agent.Payment, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.st.Payments[id]
	if !ok {
		return p, agent.ErrNotFound
	}
	return p, nil
}

func (d *fakeDaemon) List(since time.Time, limit int) ([]agent.Payment, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []agent.Payment
	for _, p := range d.st.Payments {
		out = append(out, p)
	}
	return out, nil
}

func (d *fakeDaemon) run(id string, amount int64) {
	d.setState(id, agent.StateWaitingForCard)
	if amount == fakeQRAmount {
		d.prompt(id, "show_qr")
		time.Sleep(3 * time.Second)
		d.setState(id, agent.StateOnline)
		d.setState(id, agent.StateApproved)
		d.prompt(id, "approved")
		return
	}
	d.prompt(id, "present_card")
	time.Sleep(1500 * time.Millisecond)
	d.setState(id, agent.StateReading)
	d.prompt(id, "processing")
	time.Sleep(300 * time.Millisecond)
	d.setState(id, agent.StateOnline)
	if amount == fakeSlowAmount {
		time.Sleep(6 * time.Second)
	}
	d.setState(id, agent.StateApproved)
	d.prompt(id, "approved")
	d.prompt(id, "remove_card")
}

func qrPayload(id string) string {
	return "00020101021226160012posagent.fake5204581253039785802TW5909FAKE SHOP62" + fmt.Sprintf("%02d05%02d%s", len(id)+4, len(id), id)
}

func runFakeDaemon(addr, dir string) error {
	d := &fakeDaemon{path: filepath.Join(dir, "fake.json"), subs: map[chan agent.Event]bool{}, st: fakeState{Payments: map[string]agent.Payment{}}}
	if b, err := os.ReadFile(d.path); err == nil {
		if err := json.Unmarshal(b, &d.st); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// Recovery: a payment in flight at the crash is reversed.
	for id, p := range d.st.Payments {
		if !p.State.Final() {
			d.setState(id, agent.StateReversed)
			d.prompt(id, "declined")
		}
	}
	auth := func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+fakeToken }
	mux := http.NewServeMux()
	web, err := New(Options{Engine: d, Authorize: auth, Merchant: "Fake Shop 假商店",
		QR: func(ctx context.Context, id string) ([]byte, error) {
			return qrcode.Encode(qrPayload(id), qrcode.Medium, 512)
		}})
	if err != nil {
		return err
	}
	for _, p := range Patterns {
		mux.Handle(p, web)
	}
	api := http.NewServeMux()
	api.HandleFunc("POST /v1/payments", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			ID       string
			Amount   int64
			Currency string
		}
		json.NewDecoder(r.Body).Decode(&b)
		now := time.Now().UTC()
		p := agent.Payment{ID: b.ID, Kind: agent.KindPurchase, State: agent.StateCreated, Amount: b.Amount, Currency: b.Currency, Created: now, Updated: now}
		if b.Amount == fakeQRAmount {
			p.EntryMode = EntryQRMerchant
		}
		d.mu.Lock()
		d.st.Payments[b.ID] = p
		d.publish(agent.Event{Type: "state", Payment: b.ID, State: agent.StateCreated, Amount: b.Amount, Currency: b.Currency})
		d.mu.Unlock()
		go d.run(b.ID, b.Amount)
		writeJSON(w, http.StatusAccepted, p)
	})
	api.HandleFunc("GET /v1/payments/{id}", func(w http.ResponseWriter, r *http.Request) {
		p, err := d.Get(r.PathValue("id"))
		if err != nil {
			writeError(w, 404, "not_found", "no such payment")
			return
		}
		writeJSON(w, 200, p)
	})
	api.HandleFunc("GET /v1/payments/{id}/qr.png", func(w http.ResponseWriter, r *http.Request) {
		png, _ := qrcode.Encode(qrPayload(r.PathValue("id")), qrcode.Medium, 512)
		w.Header().Set("Content-Type", "image/png")
		w.Write(png)
	})
	api.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"readers": []any{map[string]string{"name": "simulated", "kind": "reader"}}, "uplink": map[string]any{"configured": true, "up": true, "addr": "fake"}})
	})
	api.HandleFunc("GET /v1/queue", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"entries": []any{}}) })
	api.HandleFunc("POST /v1/queue/forward", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]int{"forwarded": 0}) })
	api.HandleFunc("GET /v1/totals", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"rows": []any{}, "net": map[string]int64{}})
	})
	api.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		last, _ := parseLastEventID(r.Header.Get("Last-Event-ID"))
		ch, cancel := d.Subscribe(last)
		defer cancel()
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case e := <-ch:
				b, _ := json.Marshal(e)
				fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, b)
				w.(http.Flusher).Flush()
			}
		}
	})
	mux.Handle("/v1/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !auth(r) {
			writeError(w, 401, "unauthorized", "token")
			return
		}
		api.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	return http.Serve(ln, mux)
}
