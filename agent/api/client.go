package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"posagent/agent"
)

// Client calls the local API. Errors from the server are *Error (which
// unwrap to the agent sentinels: errors.Is(err, agent.ErrBusy)).
type Client struct {
	// BaseURL is "http://127.0.0.1:8484" (for a unix socket, any http URL:
	// see NewUnixClient).
	BaseURL string
	Token   string
	// HTTP does the requests; nil = http.DefaultClient. Tests replace its
	// transport (an in-process harness, a validating round tripper).
	HTTP *http.Client
}

// NewUnixClient returns a client that dials the API's unix socket.
func NewUnixClient(socket, token string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &Client{BaseURL: "http://posagent", Token: token, HTTP: &http.Client{Transport: tr}}
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// do sends a request with an optional JSON body and decodes a 2xx answer
// into out; it returns the HTTP status.
func (c *Client) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Code == "" {
			e.Code, e.Message = CodeInternal, strings.TrimSpace(string(data))
		}
		return resp.StatusCode, e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("posagent api: decoding %s %s answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// Pay asks for a payment and waits for its final state (the server's
// payment timeout bounds the wait: a payment still running comes back
// with its current state, then Wait or Get).
func (c *Client) Pay(ctx context.Context, b PaymentBody) (agent.Payment, error) {
	var p agent.Payment
	_, err := c.do(ctx, http.MethodPost, "/v1/payments", b, &p)
	return p, err
}

// Start asks for a payment without waiting (202).
func (c *Client) Start(ctx context.Context, b PaymentBody) (agent.Payment, error) {
	f := false
	b.Wait = &f
	return c.Pay(ctx, b)
}

// Get returns a payment.
func (c *Client) Get(ctx context.Context, id string) (agent.Payment, error) {
	var p agent.Payment
	_, err := c.do(ctx, http.MethodGet, "/v1/payments/"+url.PathEscape(id), nil, &p)
	return p, err
}

// Wait polls until the payment is final or ctx ends.
func (c *Client) Wait(ctx context.Context, id string) (agent.Payment, error) {
	for {
		p, err := c.Get(ctx, id)
		if err != nil || p.State.Final() {
			return p, err
		}
		select {
		case <-ctx.Done():
			return p, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Client) op(ctx context.Context, id, op string, body any) (agent.Payment, error) {
	var p agent.Payment
	_, err := c.do(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(id)+"/"+op, body, &p)
	return p, err
}

// Abort stops a payment: aborted before the request left, reversed after.
func (c *Client) Abort(ctx context.Context, id string) (agent.Payment, error) {
	return c.op(ctx, id, "abort", nil)
}

// Void reverses an approved payment.
func (c *Client) Void(ctx context.Context, id string) (agent.Payment, error) {
	return c.op(ctx, id, "void", nil)
}

// Capture captures a pre-authorisation (amount at most the authorised one).
func (c *Client) Capture(ctx context.Context, id string, amount int64) (agent.Payment, error) {
	return c.op(ctx, id, "capture", CaptureBody{Amount: amount})
}

// Refund refunds (part of) an approved payment.
func (c *Client) Refund(ctx context.Context, b RefundBody) (agent.Payment, error) {
	var p agent.Payment
	_, err := c.do(ctx, http.MethodPost, "/v1/refunds", b, &p)
	return p, err
}

// Totals returns the totals since the cut-off (zero: today).
func (c *Client) Totals(ctx context.Context, since time.Time) (Totals, error) {
	var t Totals
	path := "/v1/totals"
	if !since.IsZero() {
		path += "?since=" + url.QueryEscape(since.Format(time.RFC3339Nano))
	}
	_, err := c.do(ctx, http.MethodGet, path, nil, &t)
	return t, err
}

// Status returns readers, uplink and queue.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	_, err := c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
	return s, err
}

// Queue lists the store-and-forward queue.
func (c *Client) Queue(ctx context.Context) ([]QueueEntry, error) {
	var q QueueList
	_, err := c.do(ctx, http.MethodGet, "/v1/queue", nil, &q)
	return q.Entries, err
}

// Forward forwards the queue now and returns how many entries went.
func (c *Client) Forward(ctx context.Context) (int, error) {
	var f Forwarded
	_, err := c.do(ctx, http.MethodPost, "/v1/queue/forward", nil, &f)
	return f.Forwarded, err
}

// Events streams events after lastID to fn until ctx ends, fn returns
// false, or the stream breaks (then the error; resume with the last id).
func (c *Client) Events(ctx context.Context, lastID uint64, fn func(agent.Event) bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.BaseURL, "/")+"/v1/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if lastID > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatUint(lastID, 10))
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode}
		json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(e)
		return e
	}
	return ReadEvents(resp.Body, fn)
}

// ReadEvents parses a Server-Sent Events stream of agent events, calling
// fn for each until it returns false or the stream ends. The SSE id and
// event name must agree with the JSON data.
func ReadEvents(r io.Reader, fn func(agent.Event) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var id, name string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if len(data) > 0 {
				var ev agent.Event
				if err := json.Unmarshal([]byte(strings.Join(data, "\n")), &ev); err != nil {
					return fmt.Errorf("posagent api: event %s: %w", id, err)
				}
				if strconv.FormatUint(ev.ID, 10) != id || (ev.Type != "" && ev.Type != name) {
					return fmt.Errorf("posagent api: event id %q / name %q disagree with its data (%d, %q)", id, name, ev.ID, ev.Type)
				}
				if !fn(ev) {
					return nil
				}
			}
			id, name, data = "", "", nil
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id = value
		case "event":
			name = value
		case "data":
			data = append(data, value)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}
