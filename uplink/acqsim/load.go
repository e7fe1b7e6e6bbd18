package acqsim

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"posagent/emv/cardsim/perso"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"posagent/emv/arqc"
	"posagent/emv/pan"
	"posagent/emv/tlv"
	"posagent/offline"
	"posagent/uplink"
)

// CardData is what ICCData needs to produce field 55 like a contactless
// card would: the card's data and the terminal's transaction data.
type CardData struct {
	Scheme   string    // "visa", "mastercard", "unionpay": selects the test issuer key
	IMK      *arqc.Key // issuer master key (nil = the scheme's test key)
	MK       *arqc.Key // the card's ICC master key, if already derived (as a card holds it)
	PAN      string
	PSN      byte
	ATC      uint16
	Amount   int64
	Currency string // 3 digits
	UN       uint32 // unpredictable number
	Date     time.Time
}

var schemeAID = map[string][]byte{
	"visa":       {0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10},
	"mastercard": {0xA0, 0x00, 0x00, 0x00, 0x04, 0x10, 0x10},
	"unionpay":   {0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01},
}

// ICCData builds field 55 with a valid ARQC computed with the scheme's test
// issuer master key (or d.IMK): the data a software card would return.
func ICCData(d CardData) ([]byte, error) {
	imk, ok := perso.TestMasterKey(d.Scheme)
	if d.IMK != nil {
		imk, ok = *d.IMK, true
	}
	if !ok {
		return nil, fmt.Errorf("acqsim: no issuer key for scheme %q", d.Scheme)
	}
	if len(d.Currency) != 3 {
		return nil, fmt.Errorf("acqsim: currency must be 3 digits")
	}
	date := d.Date
	if date.IsZero() {
		date = time.Now()
	}
	cur := []byte{d.Currency[0] - '0', (d.Currency[1]-'0')<<4 | (d.Currency[2] - '0')}
	var un [4]byte
	binary.BigEndian.PutUint32(un[:], d.UN)
	atc := [2]byte{byte(d.ATC >> 8), byte(d.ATC)}
	vals := map[uint32][]byte{
		0x9F02: tlv.EncodeN(uint64(d.Amount), 6),
		0x9F03: tlv.EncodeN(0, 6),
		0x9F1A: cur, // terminal country code: same digits as the currency for the simulator
		0x95:   {0, 0, 0, 0, 0},
		0x5F2A: cur,
		0x9A:   tlv.EncodeN(uint64(date.Year()%100*10000+int(date.Month())*100+date.Day()), 3),
		0x9C:   {0x00},
		0x9F37: un[:],
		0x82:   {0x20, 0x00},
		0x9F36: atc[:],
		0x9F10: {0x06, 0x01, 0x0A, 0x03, 0xA0, 0x00, 0x00},
	}
	data, err := arqc.Input(func(t uint32) []byte { return vals[t] })
	if err != nil {
		return nil, err
	}
	var mk arqc.Key
	if d.MK != nil {
		mk = *d.MK
	} else {
		mk = arqc.DeriveICCMasterKey(imk, d.PAN, d.PSN)
	}
	sk := arqc.SessionKey(mk, atc)
	ac := arqc.Compute(sk, data)
	var out []byte
	for _, t := range arqc.InputTags() {
		out = tlv.Append(out, tlv.Tag(t), vals[t])
	}
	out = tlv.Append(out, 0x9F26, ac[:])
	out = tlv.Append(out, 0x9F27, []byte{0x80})
	out = tlv.Append(out, 0x5F34, []byte{d.PSN})
	if aid, ok := schemeAID[d.Scheme]; ok {
		out = tlv.Append(out, 0x4F, aid)
	}
	return out, nil
}

// MemQueue is an in-memory uplink.Queue for load generation only: it is
// not durable, so a terminal using it could lose a reversal in a crash.
type MemQueue struct {
	mu      sync.Mutex
	entries map[string]offline.Entry
}

// NewMemQueue returns an empty queue.
func NewMemQueue() *MemQueue { return &MemQueue{entries: map[string]offline.Entry{}} }

// Enqueue adds e (State "" = pending).
func (q *MemQueue) Enqueue(_ context.Context, e offline.Entry) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.entries[e.ID]; ok {
		return offline.ErrDuplicate
	}
	if e.State == "" {
		e.State = offline.StatePending
	}
	q.entries[e.ID] = e
	return nil
}

// Release moves a held entry to pending.
func (q *MemQueue) Release(id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.entries[id]
	if !ok {
		return offline.ErrNotFound
	}
	switch e.State {
	case offline.StatePending, offline.StateInFlight:
		return nil
	case offline.StateHeld:
	default:
		return &offline.StateError{Op: "release", ID: id, State: e.State}
	}
	e.State = offline.StatePending
	q.entries[id] = e
	return nil
}

// Cancel removes a held entry.
func (q *MemQueue) Cancel(id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.entries[id]
	if !ok {
		return offline.ErrNotFound
	}
	if e.State != offline.StateHeld {
		return &offline.StateError{Op: "cancel", ID: id, State: e.State}
	}
	delete(q.entries, id)
	return nil
}

// Get returns an entry.
func (q *MemQueue) Get(id string) (offline.Entry, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.entries[id]
	if !ok {
		return offline.Entry{}, offline.ErrNotFound
	}
	return e, nil
}

// Finish marks an entry done (what the offline forwarder does after a
// successful Forward).
func (q *MemQueue) Finish(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e, ok := q.entries[id]; ok {
		e.State = offline.StateDone
		q.entries[id] = e
	}
}

// Pending returns the entries in state s.
func (q *MemQueue) Pending(s offline.State) []offline.Entry {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []offline.Entry
	for _, e := range q.entries {
		if e.State == s {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// LoadConfig configures Load.
type LoadConfig struct {
	Addr      string
	TLS       *tls.Config // client side (certificate, CA)
	Terminals int         // simulated terminals, one connection each (0 = 1000)
	Duration  time.Duration
	Header    uplink.Header
	StateDir  string // for the terminals' STAN files ("" = a temporary directory, removed after)
	Scheme    string // card scheme of the generated ARQCs ("" = visa)
	Financial bool   // send 0200 purchases instead of 0100 authorisations
	Logger    *slog.Logger
}

// LoadResult is what a load run measured.
type LoadResult struct {
	Terminals          int
	Auths, Approved    int64
	Errors             int64
	Reversals          int // released reversals left (should be 0)
	Elapsed, Connect   time.Duration
	Rate               float64 // authorisations per second
	P50, P90, P99, Max time.Duration
}

func (r *LoadResult) String() string {
	return fmt.Sprintf("terminals %d auths %d approved %d errors %d in %v: %.0f auth/s p50 %v p90 %v p99 %v max %v (connect %v, reversals left %d)",
		r.Terminals, r.Auths, r.Approved, r.Errors, r.Elapsed.Round(time.Millisecond), r.Rate,
		r.P50, r.P90, r.P99, r.Max, r.Connect.Round(time.Millisecond), r.Reversals)
}

// Load runs cfg.Terminals uplink clients, each sending authorisations (0100
// with a valid ARQC; 0200 with cfg.Financial) back to back for
// cfg.Duration, and reports throughput and latency.
func Load(ctx context.Context, cfg LoadConfig) (*LoadResult, error) {
	if cfg.Terminals <= 0 {
		cfg.Terminals = 1000
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Scheme == "" {
		cfg.Scheme = "visa"
	}
	dir := cfg.StateDir
	if dir == "" {
		d, err := os.MkdirTemp("", "acqsim-load-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	type term struct {
		c   *uplink.Client
		q   *MemQueue
		lat []time.Duration
	}
	terms := make([]*term, cfg.Terminals)
	defer func() {
		for _, t := range terms {
			if t != nil && t.c != nil {
				t.c.Close()
			}
		}
	}()
	start := time.Now()
	for i := range terms {
		stan, err := uplink.OpenSTAN(filepath.Join(dir, fmt.Sprintf("stan-%d", i)), 100000)
		if err != nil {
			return nil, err
		}
		q := NewMemQueue()
		c, err := uplink.New(uplink.Config{
			Addr: cfg.Addr, TLS: cfg.TLS, Header: cfg.Header,
			TerminalID: fmt.Sprintf("L%07d", i), MerchantID: "LOADTEST0000001", MCC: "5411",
			Queue: q, STAN: stan, EchoInterval: -1, ConnectWait: 30 * time.Second,
			ResponseTimeout: 30 * time.Second, DialTimeout: 30 * time.Second, Logger: cfg.Logger,
		})
		if err != nil {
			return nil, err
		}
		terms[i] = &term{c: c, q: q}
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, t := range terms {
		if err := t.c.WaitReady(wctx); err != nil {
			return nil, fmt.Errorf("acqsim load: terminals did not connect: %w", err)
		}
	}
	res := &LoadResult{Terminals: cfg.Terminals, Connect: time.Since(start)}
	var auths, approved, errs atomic.Int64
	p, err := pan.Parse("4761739001010010")
	if err != nil {
		return nil, err
	}
	imk, ok := perso.TestMasterKey(cfg.Scheme)
	if !ok {
		return nil, fmt.Errorf("acqsim load: no test key for scheme %q", cfg.Scheme)
	}
	cardMK := arqc.DeriveICCMasterKey(imk, p.Digits(), 1)
	deadline := time.Now().Add(cfg.Duration)
	runStart := time.Now()
	var wg sync.WaitGroup
	for i, t := range terms {
		wg.Add(1)
		go func(i int, t *term) {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				icc, err := ICCData(CardData{Scheme: cfg.Scheme, MK: &cardMK, PAN: p.Digits(), PSN: 1,
					ATC: uint16(n), Amount: 1000 + int64(n%100), Currency: "978", UN: uint32(i<<16 | n)})
				if err != nil {
					errs.Add(1)
					return
				}
				txn := uplink.Transaction{ID: fmt.Sprintf("L%07d-%d", i, n), PAN: p, Expiry: "2812", PSN: "001",
					Amount: 1000 + int64(n%100), Currency: "978", EntryMode: uplink.EntryContactless, ICC: icc}
				t0 := time.Now()
				send := t.c.Authorize
				if cfg.Financial {
					send = t.c.Purchase
				}
				r, err := send(ctx, txn)
				t.lat = append(t.lat, time.Since(t0))
				auths.Add(1)
				if err != nil {
					errs.Add(1)
					continue
				}
				if r.Approved() {
					approved.Add(1)
				}
			}
		}(i, t)
	}
	wg.Wait()
	res.Elapsed = time.Since(runStart)
	res.Auths, res.Approved, res.Errors = auths.Load(), approved.Load(), errs.Load()
	res.Rate = float64(res.Auths) / res.Elapsed.Seconds()
	var all []time.Duration
	for _, t := range terms {
		all = append(all, t.lat...)
		res.Reversals += len(t.q.Pending(offline.StatePending))
	}
	res.P50, res.P90, res.P99, res.Max = Percentile(all, 50), Percentile(all, 90), Percentile(all, 99), Percentile(all, 100)
	return res, nil
}

// Percentile returns the p-th percentile (nearest rank) of d, sorting it.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(float64(len(d))*p/100+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(d) {
		i = len(d) - 1
	}
	return d[i]
}
