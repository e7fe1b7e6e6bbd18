package web

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"posagent/agent"
)

// chanEngine delivers the events of one subscription from a channel.
type chanEngine struct {
	ch chan agent.Event
	p  agent.Payment
}

func (c *chanEngine) Subscribe(uint64) (<-chan agent.Event, func()) { return c.ch, func() {} }
func (c *chanEngine) Get(string) (agent.Payment, error)             { return c.p, nil }
func (c *chanEngine) List(time.Time, int) ([]agent.Payment, error)  { return nil, nil }

func benchEvent(i int) agent.Event {
	return agent.Event{ID: uint64(i + 1), Type: "prompt", Payment: "bench-payment", Prompt: "processing", Message: "reading", At: time.Now()}
}

// readEvents reads n data lines from an SSE response.
func readEvents(b *testing.B, url string, n int, start func()) {
	res, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	start()
	got := 0
	for got < n && sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			got++
		}
	}
	if got < n {
		b.Fatalf("%d of %d events", got, n)
	}
}

// BenchmarkDisplayStream: one engine event to the display over a loopback
// HTTP connection (filter, payment lookup, JSON, SSE framing, flush).
func BenchmarkDisplayStream(b *testing.B) {
	eng := &chanEngine{ch: make(chan agent.Event, 1024), p: agent.Payment{ID: "bench-payment", State: agent.StateReading, Amount: 1234, Currency: "EUR"}}
	s, err := New(Options{Engine: eng})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	readEvents(b, ts.URL+"/display/events", b.N, func() {
		b.ResetTimer()
		go func() {
			for i := 0; i < b.N; i++ {
				eng.ch <- benchEvent(i)
			}
		}()
	})
}

// BenchmarkRawSSE is the peer: the same events marshalled as they are and
// written as SSE by a bare handler over the same kind of connection.
func BenchmarkRawSSE(b *testing.B) {
	ch := make(chan agent.Event, 1024)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for e := range ch {
			data, _ := json.Marshal(e)
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data)
			w.(http.Flusher).Flush()
		}
	}))
	defer ts.Close()
	defer close(ch)
	readEvents(b, ts.URL, b.N, func() {
		b.ResetTimer()
		go func() {
			for i := 0; i < b.N; i++ {
				ch <- benchEvent(i)
			}
		}()
	})
}
