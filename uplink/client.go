package uplink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"

	"posagent/offline"
)

// Queue is what the uplink needs of the durable offline store
// (posagent/offline.Store implements it): armed reversals and advices are
// written there before anything leaves.
type Queue interface {
	Enqueue(ctx context.Context, e offline.Entry) error
	Release(id string) error
	Cancel(id string) error
	Get(id string) (offline.Entry, error)
}

// The offline store is the Queue, and the client is the store's Sender.
var (
	_ Queue          = (*offline.Store)(nil)
	_ offline.Sender = (*Client)(nil)
)

// Config configures a Client. Queue, STAN and TerminalID are required;
// Addr and TLS too, except for a terminal without an acquirer (Addr ""):
// its requests fail at once with ErrUnavailable and its advices wait in
// the Queue. Every other zero value has a working default.
type Config struct {
	Addr   string      // acquirer host:port
	TLS    *tls.Config // client certificate, CA pool, pins (see TLSFiles.Load)
	Header Header      // network length header (zero = HeaderBinary2)
	Spec   *iso8583.MessageSpec

	TerminalID string // field 41, 8 characters
	MerchantID string // field 42, 15 characters
	AcquirerID string // field 32
	MCC        string // field 18

	Queue Queue
	STAN  *STAN

	ResponseTimeout time.Duration // wait for a response (0 = 10s)
	DialTimeout     time.Duration // TCP connect + TLS handshake (0 = 5s)
	ConnectWait     time.Duration // how long a request waits for a connection (0 = 2s)
	EchoInterval    time.Duration // idle time before an echo 0800 (0 = 60s, < 0 = never)
	MinBackoff      time.Duration // first reconnect delay (0 = 100ms)
	MaxBackoff      time.Duration // largest reconnect delay (0 = 30s)

	Logger *slog.Logger     // nil = discard
	Now    func() time.Time // nil = time.Now (test hook)
	// DialContext opens the TCP connection (nil = net.Dialer). Test hook.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client is a persistent connection to the acquirer. It is safe for
// concurrent use; requests are multiplexed on one connection.
type Client struct {
	cfg   Config
	codec *Codec
	log   *slog.Logger

	mu      sync.Mutex
	cur     *conn
	ready   chan struct{} // closed while cur != nil
	lastErr error
	closed  bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	stats Stats
}

// Stats counts what the client did. Read it with Client.Stats.
type Stats struct {
	Connects, SignOns, Echoes, Sent, Responses, Late, Malformed atomic.Int64
}

// ConfigError names a missing or bad Config field.
type ConfigError struct{ Field, Detail string }

func (e *ConfigError) Error() string { return "uplink: config " + e.Field + ": " + e.Detail }

// New checks cfg and starts connecting in the background. If the Queue can
// list its entries (offline.Store can), reversals still held from a
// previous life of the process are released first: that process died
// waiting for their responses.
func New(cfg Config) (*Client, error) {
	switch {
	case cfg.Addr != "" && cfg.TLS == nil:
		return nil, &ConfigError{"TLS", "required (mutual TLS)"}
	case cfg.Queue == nil:
		return nil, &ConfigError{"Queue", "required (reversals must be durable)"}
	case cfg.STAN == nil:
		return nil, &ConfigError{"STAN", "required"}
	case len(cfg.TerminalID) != 8 || !printable(cfg.TerminalID):
		return nil, &ConfigError{"TerminalID", "must be 8 printable characters"}
	case cfg.MerchantID != "" && (len(cfg.MerchantID) != 15 || !printable(cfg.MerchantID)):
		return nil, &ConfigError{"MerchantID", "must be 15 printable characters"}
	}
	codec, err := NewCodec(cfg.Spec)
	if err != nil {
		return nil, err
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.ResponseTimeout, 10*time.Second)
	def(&cfg.DialTimeout, 5*time.Second)
	def(&cfg.ConnectWait, 2*time.Second)
	def(&cfg.EchoInterval, 60*time.Second)
	def(&cfg.MinBackoff, 100*time.Millisecond)
	def(&cfg.MaxBackoff, 30*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DialContext == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		cfg.DialContext = d.DialContext
	}
	c := &Client{cfg: cfg, codec: codec, log: orDiscard(cfg.Logger), ready: make(chan struct{})}
	if _, err := c.releaseHeld(); err != nil {
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if cfg.Addr == "" {
		c.lastErr = errNoAcquirer
		return c, nil
	}
	c.wg.Add(1)
	go c.run()
	return c, nil
}

// scanner is the optional capability of a Queue to list its entries
// (offline.Store has it).
type scanner interface {
	Scan(fn func(offline.Entry) error) error
}

// releaseHeld releases every reversal still held in the Queue: it was armed
// by a previous life of the process that died waiting for the response, so
// nobody can account for that request any more. It needs a Queue with a
// Scan method; others are left alone.
func (c *Client) releaseHeld() (int, error) {
	sc, ok := c.cfg.Queue.(scanner)
	if !ok {
		return 0, nil
	}
	var held []string
	err := sc.Scan(func(e offline.Entry) error {
		if e.Kind == offline.KindReversal && e.State == offline.StateHeld {
			held = append(held, e.ID)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%w: scanning for held reversals: %w", ErrStore, err)
	}
	for _, id := range held {
		if err := c.cfg.Queue.Release(id); err != nil {
			return 0, fmt.Errorf("%w: releasing held reversal %s: %w", ErrStore, id, err)
		}
		c.log.Warn("uplink: reversal armed before a restart released", "txn", id)
	}
	return len(held), nil
}

// Close stops the client. Requests waiting for a response fail with
// ErrNoResponse and their reversals are released.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	cur := c.cur
	c.mu.Unlock()
	c.cancel()
	if cur != nil {
		cur.fail(ErrClosed)
	}
	c.wg.Wait()
	return nil
}

// Stats returns the client's counters.
func (c *Client) Stats() *Stats { return &c.stats }

// Ready reports whether a signed-on connection is up.
func (c *Client) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur != nil && !c.cur.isDead()
}

// WaitReady waits until a signed-on connection is up.
func (c *Client) WaitReady(ctx context.Context) error {
	_, err := c.waitConn(ctx, 24*time.Hour)
	return err
}

// conn is one TLS connection and the requests waiting on it.
type conn struct {
	nc      net.Conn
	header  Header
	wmu     sync.Mutex
	pmu     sync.Mutex
	pending map[string]chan *Message
	dead    chan struct{}
	once    sync.Once
	err     error // why it died; read after dead is closed
	last    atomic.Int64
}

func (cn *conn) isDead() bool {
	select {
	case <-cn.dead:
		return true
	default:
		return false
	}
}

func (cn *conn) fail(err error) {
	cn.once.Do(func() {
		cn.err = err
		close(cn.dead)
		cn.nc.Close()
	})
}

func (cn *conn) register(key string) (chan *Message, bool) {
	cn.pmu.Lock()
	defer cn.pmu.Unlock()
	if _, dup := cn.pending[key]; dup {
		return nil, false
	}
	ch := make(chan *Message, 1)
	cn.pending[key] = ch
	return ch, true
}

func (cn *conn) unregister(key string) {
	cn.pmu.Lock()
	delete(cn.pending, key)
	cn.pmu.Unlock()
}

func (cn *conn) take(key string) chan *Message {
	cn.pmu.Lock()
	defer cn.pmu.Unlock()
	ch := cn.pending[key]
	delete(cn.pending, key)
	return ch
}

func (cn *conn) write(frame []byte) error {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	if cn.isDead() {
		return errConnDead
	}
	cn.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := cn.nc.Write(frame)
	if err != nil {
		cn.fail(fmt.Errorf("writing: %w", err))
		return err
	}
	cn.last.Store(time.Now().UnixNano())
	return nil
}

var errConnDead = errors.New("connection already closed")

// errNoAcquirer is why a client without an Addr is never ready.
var errNoAcquirer = errors.New("no acquirer configured")

// Offline reports whether the client has no acquirer (Config.Addr "").
func (c *Client) Offline() bool { return c.cfg.Addr == "" }

func responseKey(mti, stan, tid string) string {
	return ResponseMTI(mti) + stan + tid
}

// run keeps a connection up: dial, sign on, echo when idle, reconnect with
// backoff.
func (c *Client) run() {
	defer c.wg.Done()
	backoff := c.cfg.MinBackoff
	for c.ctx.Err() == nil {
		cn, err := c.connect()
		if err != nil {
			c.setLastErr(err)
			c.log.Warn("uplink: connect failed", "addr", c.cfg.Addr, "err", err, "retry_in", backoff)
			if !sleepCtx(c.ctx, jitter(backoff)) {
				return
			}
			backoff = min(backoff*2, c.cfg.MaxBackoff)
			continue
		}
		up := time.Now()
		c.publish(cn)
		c.log.Info("uplink: connected and signed on", "addr", c.cfg.Addr)
		c.supervise(cn)
		c.unpublish(cn)
		c.setLastErr(cn.err)
		if c.ctx.Err() != nil {
			return
		}
		c.log.Warn("uplink: connection lost", "err", cn.err)
		if time.Since(up) > c.cfg.MaxBackoff {
			backoff = c.cfg.MinBackoff
			continue
		}
		// A host that drops us right after sign-on is not hammered.
		if !sleepCtx(c.ctx, jitter(backoff)) {
			return
		}
		backoff = min(backoff*2, c.cfg.MaxBackoff)
	}
}

// jitter spreads d by +-20 % so that a fleet does not reconnect in step.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + time.Duration(rand.Int64N(max(1, int64(d*2/5))))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (c *Client) setLastErr(err error) {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
}

func (c *Client) publish(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		cn.fail(ErrClosed)
		return
	}
	c.cur = cn
	close(c.ready)
}

func (c *Client) unpublish(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == cn {
		c.cur = nil
		c.ready = make(chan struct{})
	}
}

func (c *Client) connect() (*conn, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.DialTimeout)
	defer cancel()
	raw, err := c.cfg.DialContext(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", c.cfg.Addr, err)
	}
	tcfg := c.cfg.TLS.Clone()
	if tcfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(c.cfg.Addr)
		tcfg.ServerName = host
	}
	if tcfg.MinVersion < tls.VersionTLS12 {
		tcfg.MinVersion = tls.VersionTLS12
	}
	tc := tls.Client(raw, tcfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", c.cfg.Addr, err)
	}
	c.stats.Connects.Add(1)
	cn := &conn{nc: tc, header: c.cfg.Header, pending: map[string]chan *Message{}, dead: make(chan struct{})}
	cn.last.Store(time.Now().UnixNano())
	c.wg.Add(1)
	go c.reader(cn)
	// Sign on.
	resp, err := c.network(ctx, cn, NetSignOn)
	if err != nil {
		cn.fail(err)
		return nil, fmt.Errorf("sign-on: %w", err)
	}
	if resp.ResponseCode != RCApproved {
		err := fmt.Errorf("sign-on refused with response code %s", resp.ResponseCode)
		cn.fail(err)
		return nil, err
	}
	c.stats.SignOns.Add(1)
	return cn, nil
}

// network sends an 0800 with the given network management code and waits
// for its 0810.
func (c *Client) network(ctx context.Context, cn *conn, code string) (*Message, error) {
	stan, err := c.cfg.STAN.Next()
	if err != nil {
		return nil, err
	}
	tx, _, _ := transmissionFields(c.cfg.Now())
	m := &Message{MTI: MTINetwork, Transmission: tx, STAN: stan, TerminalID: c.cfg.TerminalID, NetworkCode: code}
	resp, _, err := c.exchange(ctx, cn, m)
	if err != nil {
		return nil, err
	}
	if resp.ResponseCode == "" {
		return nil, &ResponseError{MTI: resp.MTI, STAN: resp.STAN, Field: FieldResponseCode, Detail: "missing"}
	}
	return resp, nil
}

// supervise waits for the connection to die, sending echoes when idle.
func (c *Client) supervise(cn *conn) {
	if c.cfg.EchoInterval < 0 {
		select {
		case <-cn.dead:
		case <-c.ctx.Done():
			cn.fail(ErrClosed)
		}
		return
	}
	tick := max(c.cfg.EchoInterval/4, 5*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-cn.dead:
			return
		case <-c.ctx.Done():
			cn.fail(ErrClosed)
			return
		case <-t.C:
			idle := time.Since(time.Unix(0, cn.last.Load()))
			if idle < c.cfg.EchoInterval {
				continue
			}
			ctx, cancel := context.WithTimeout(c.ctx, c.cfg.ResponseTimeout)
			resp, err := c.network(ctx, cn, NetEcho)
			cancel()
			if err != nil {
				cn.fail(fmt.Errorf("echo: %w", err))
				return
			}
			if resp.ResponseCode != RCApproved {
				cn.fail(fmt.Errorf("echo answered %s", resp.ResponseCode))
				return
			}
			c.stats.Echoes.Add(1)
		}
	}
}

// reader delivers responses to their waiters. A frame that does not decode
// kills the connection: nothing after it can be trusted.
func (c *Client) reader(cn *conn) {
	defer c.wg.Done()
	var buf []byte
	for {
		frame, err := cn.header.ReadFrame(cn.nc, buf)
		if err != nil {
			var fe *FrameError
			if errors.As(err, &fe) {
				c.stats.Malformed.Add(1)
			}
			cn.fail(fmt.Errorf("reading: %w", err))
			return
		}
		buf = frame[:0]
		cn.last.Store(time.Now().UnixNano())
		m, err := c.codec.Decode(frame)
		if err != nil {
			c.stats.Malformed.Add(1)
			c.log.Warn("uplink: malformed message from acquirer, dropping connection", "err", err)
			cn.fail(err)
			return
		}
		switch {
		case IsResponseMTI(m.MTI):
			key := m.MTI + m.STAN + m.TerminalID
			if ch := cn.take(key); ch != nil {
				c.stats.Responses.Add(1)
				ch <- m
			} else {
				c.log.Warn("uplink: unmatched or late response ignored", "msg", m)
				c.stats.Late.Add(1)
			}
		case m.MTI == MTINetwork:
			resp := &Message{MTI: MTINetworkResponse, Transmission: m.Transmission, STAN: m.STAN,
				TerminalID: m.TerminalID, NetworkCode: m.NetworkCode, ResponseCode: RCApproved}
			if b, err := c.codec.Encode(resp); err == nil {
				if f, err := cn.header.AppendFrame(nil, b); err == nil {
					go cn.write(f)
				}
			}
		default:
			c.log.Warn("uplink: unexpected request from acquirer ignored", "msg", m)
		}
	}
}

// exchange sends m on cn and waits for the matching response. sent is false
// only when nothing was written (the connection was already dead or the
// message did not encode).
func (c *Client) exchange(ctx context.Context, cn *conn, m *Message) (resp *Message, sent bool, err error) {
	b, err := c.codec.Encode(m)
	if err != nil {
		return nil, false, err
	}
	return c.exchangePacked(ctx, cn, m, b)
}

// exchangePacked is exchange with m already packed into b.
func (c *Client) exchangePacked(ctx context.Context, cn *conn, m *Message, b []byte) (resp *Message, sent bool, err error) {
	frame, err := cn.header.AppendFrame(make([]byte, 0, len(b)+4), b)
	if err != nil {
		return nil, false, err
	}
	key := responseKey(m.MTI, m.STAN, m.TerminalID)
	ch, ok := cn.register(key)
	if !ok {
		return nil, false, fmt.Errorf("uplink: a %s with stan %s is already waiting", m.MTI, m.STAN)
	}
	defer cn.unregister(key)
	if err := cn.write(frame); err != nil {
		if errors.Is(err, errConnDead) {
			return nil, false, errConnDead
		}
		return nil, true, fmt.Errorf("%w: %w", ErrNoResponse, err)
	}
	c.stats.Sent.Add(1)
	t := time.NewTimer(c.cfg.ResponseTimeout)
	defer t.Stop()
	select {
	case resp := <-ch:
		return resp, true, nil
	case <-t.C:
		return nil, true, fmt.Errorf("%w: none within %v", ErrNoResponse, c.cfg.ResponseTimeout)
	case <-cn.dead:
		// A response may have been delivered just before the death.
		select {
		case resp := <-ch:
			return resp, true, nil
		default:
		}
		if errors.Is(cn.err, ErrMalformed) || errors.Is(cn.err, ErrFrame) {
			return nil, true, cn.err
		}
		return nil, true, fmt.Errorf("%w: connection lost: %w", ErrNoResponse, cn.err)
	case <-ctx.Done():
		return nil, true, fmt.Errorf("%w: %w", ErrAborted, context.Cause(ctx))
	}
}

// waitConn returns the current connection, waiting up to ConnectWait (or
// wait, if > 0) for one.
func (c *Client) waitConn(ctx context.Context, wait time.Duration) (*conn, error) {
	if wait <= 0 {
		wait = c.cfg.ConnectWait
	}
	if c.cfg.Addr == "" {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, errNoAcquirer)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		cn, ready := c.cur, c.ready
		c.mu.Unlock()
		if cn != nil && !cn.isDead() {
			return cn, nil
		}
		var readyCh <-chan struct{} = ready
		var poll <-chan time.Time
		if cn != nil {
			// A dead connection not yet replaced: ready is still closed.
			readyCh = nil
			poll = time.After(5 * time.Millisecond)
		}
		select {
		case <-readyCh:
		case <-poll:
		case <-t.C:
			c.mu.Lock()
			last := c.lastErr
			c.mu.Unlock()
			if last != nil {
				return nil, fmt.Errorf("%w: %w", ErrUnavailable, last)
			}
			return nil, ErrUnavailable
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, context.Cause(ctx))
		}
	}
}
