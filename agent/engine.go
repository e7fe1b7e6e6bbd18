package agent

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"posagent/emv"
	"posagent/money"
	"posagent/offline"
	"posagent/qr"
	"posagent/uplink"
)

// Config configures an Engine. The zero value of every field but DataFile
// has a working default (no acquirer, no inputs, EU default terminal).
type Config struct {
	// DataFile is the one bbolt file holding payments and the
	// store-and-forward queue (e.g. /var/lib/posagent/queue.db).
	DataFile string
	// Store configures the file: key file and device secret (keep them
	// apart from the data), offline limits, commit hook. Store.Now and
	// Store.Logger default to the engine's.
	Store offline.Options
	// Terminal is the kernel's terminal configuration; zero = emv.DefaultConfig().
	// Its TestKeys is the one switch for scheme and software-card test CA keys.
	Terminal *emv.Config
	// Acquirer configures the uplink client; the engine sets its Queue
	// (and STAN, when nil, from STANFile). Nil or Addr "" = no acquirer:
	// every payment takes the offline path or is declined.
	Acquirer *uplink.Config
	// STANFile persists the trace number when Acquirer.STAN is nil.
	// Default: "stan" beside DataFile.
	STANFile string
	// Readers and Scanners are the inputs. One card payment at a time runs
	// per input.
	Readers  []Reader
	Scanners []Scanner
	// ClassifyQR accepts scanned codes; nil refuses every code.
	ClassifyQR QRClassifier
	// QRMerchant is the merchant data of the dynamic codes that
	// merchant-presented payments (MethodQRMerchant) show; nil refuses them.
	QRMerchant *qr.Merchant
	// QRTimeout is how long a merchant-presented payment waits for the
	// wallet (default 2 min); QRPoll is the time between its status
	// requests (default 2 s).
	QRTimeout, QRPoll time.Duration
	// Offline is the default offline policy (OfflineDefault = allow).
	Offline OfflinePolicy
	// FloorLimit is the largest amount (minor units) that an online-only
	// card payment may be approved for without the acquirer when it cannot
	// be reached (deferred authorisation, within the offline limits).
	// 0 = never: such payments are declined (acquirer_unavailable).
	FloorLimit int64
	// CardTimeout is how long a payment waits for a card (default 60 s).
	CardTimeout time.Duration
	// Retries is how many times a payment asks for the card again after
	// "present card again" or "try another interface" (default 3).
	Retries int
	// PreAuthExpiry voids an uncaptured pre-authorisation this long after
	// its approval (0 = never). PreAuthCheck is how often (default 1 min).
	PreAuthExpiry, PreAuthCheck time.Duration
	// ForwardBackoff and ForwardBackoffMax bound the forwarder's retry
	// delay (defaults 1 s and 5 min); ForwardPoll its idle wait (5 s).
	ForwardBackoff, ForwardBackoffMax, ForwardPoll time.Duration
	// SyncAllStates fsyncs the states that move no money too (created,
	// waiting_for_card, reading). Off, they are written without fsync:
	// they survive a process crash but not a power cut.
	SyncAllStates bool
	// EventBuffer is how many events are kept for replay (default 1024).
	EventBuffer int
	// Observer receives measurements (nil = none).
	Observer Observer
	// Logger (nil = discard). Never receives card data.
	Logger *slog.Logger
	// Now is the clock (nil = time.Now).
	Now func() time.Time
}

// Engine runs payments. Its methods are safe for concurrent use.
type Engine struct {
	cfg    Config
	term   emv.Config
	store  *offline.Store
	client *uplink.Client
	log    *slog.Logger
	obs    Observer
	events *eventLog

	mu      sync.Mutex
	runs    map[string]*run   // payments not final, by id
	busy    map[string]string // input name -> payment id
	opLocks map[string]*opLock
	closed  bool

	// folds: state writes the uplink's queue calls carry (see queue.go).
	fmu     sync.Mutex
	folds   map[string]fold
	cancels map[string]bool // reversals whose Cancel waits for the payment's final commit

	bg       context.Context
	bgCancel context.CancelFunc
	bgWG     sync.WaitGroup
	runWG    sync.WaitGroup
	fwdMu    sync.Mutex
	uplinkUp atomic.Bool
}

// run is a payment in progress.
type run struct {
	id     string
	inputs []string
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}
	sent   atomic.Bool // the online request was armed (it may have left)
	// merchantQR: the payment waits for a wallet (MethodQRMerchant); Close
	// stops it at once, as it may wait for minutes.
	merchantQR bool
}

// Causes of a cancelled run.
var (
	errAbort    = errors.New("aborted by the cashier")
	errShutdown = errors.New("engine shutting down")
)

// Open opens (creating) the data file, recovers payments a previous
// process left unfinished, connects the uplink and starts the forwarder.
func Open(cfg Config) (*Engine, error) {
	if cfg.DataFile == "" {
		return nil, &InvalidError{Field: "DataFile", Reason: "required"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CardTimeout <= 0 {
		cfg.CardTimeout = 60 * time.Second
	}
	if cfg.Retries <= 0 {
		cfg.Retries = 3
	}
	if cfg.QRTimeout <= 0 {
		cfg.QRTimeout = 2 * time.Minute
	}
	if cfg.QRPoll <= 0 {
		cfg.QRPoll = 2 * time.Second
	}
	if cfg.PreAuthCheck <= 0 {
		cfg.PreAuthCheck = time.Minute
	}
	switch cfg.Offline {
	case OfflineDefault:
		cfg.Offline = OfflineAllow
	case OfflineAllow, OfflineDeny:
	default:
		return nil, &InvalidError{Field: "Offline", Reason: "must be allow or deny"}
	}
	names := map[string]bool{}
	for _, r := range cfg.Readers {
		if names[r.Name()] {
			return nil, &InvalidError{Field: "Readers", Reason: "two inputs named " + r.Name()}
		}
		names[r.Name()] = true
	}
	for _, s := range cfg.Scanners {
		if names[s.Name()] {
			return nil, &InvalidError{Field: "Scanners", Reason: "two inputs named " + s.Name()}
		}
		names[s.Name()] = true
	}
	term := emv.DefaultConfig()
	if cfg.Terminal != nil {
		term = *cfg.Terminal
	}
	if err := term.Validate(); err != nil {
		return nil, err
	}
	if _, err := money.Numeric(term.CurrencyCode); err != nil {
		return nil, &InvalidError{Field: "Terminal.CurrencyCode", Reason: "unknown currency"}
	}
	sopts := cfg.Store
	if sopts.Now == nil {
		sopts.Now = cfg.Now
	}
	if sopts.Logger == nil {
		sopts.Logger = cfg.Logger
	}
	store, err := offline.Open(cfg.DataFile, sopts)
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, term: term, store: store, log: cfg.Logger, obs: cfg.Observer,
		runs: map[string]*run{}, busy: map[string]string{}, opLocks: map[string]*opLock{},
		folds: map[string]fold{}, cancels: map[string]bool{}}
	ok := false
	defer func() {
		if !ok {
			if e.client != nil {
				e.client.Close()
			}
			store.Close()
		}
	}()
	first, settled, err := e.recover()
	if err != nil {
		return nil, err
	}
	e.events = newEventLog(cfg.EventBuffer, first, e.reserveEvents, cfg.Now)
	// Whoever follows the event stream (console, display, cashier) hears
	// how the payments the previous process left open were settled.
	for _, p := range settled {
		e.announce(p)
	}

	ucfg := uplink.Config{}
	if cfg.Acquirer != nil {
		ucfg = *cfg.Acquirer
	}
	if ucfg.TerminalID == "" {
		ucfg.TerminalID = term.TerminalID
	}
	if ucfg.MerchantID == "" {
		ucfg.MerchantID = term.MerchantID
	}
	if ucfg.MCC == "" {
		ucfg.MCC = fmt.Sprintf("%04d", term.MCC)
	}
	if ucfg.Logger == nil {
		ucfg.Logger = cfg.Logger
	}
	if ucfg.Now == nil {
		ucfg.Now = cfg.Now
	}
	if ucfg.STAN == nil {
		path := cfg.STANFile
		if path == "" {
			path = filepath.Join(filepath.Dir(cfg.DataFile), "stan")
		}
		if ucfg.STAN, err = uplink.OpenSTAN(path, 0); err != nil {
			return nil, err
		}
	}
	ucfg.Queue = &queue{e: e}
	if e.client, err = uplink.New(ucfg); err != nil {
		return nil, err
	}
	e.bg, e.bgCancel = context.WithCancel(context.Background())
	fwd := e.forwarder()
	e.bgWG.Add(3)
	go func() {
		defer e.bgWG.Done()
		fwd.Run(e.bg)
	}()
	go func() {
		defer e.bgWG.Done()
		e.watchUplink(e.bg)
	}()
	go func() {
		defer e.bgWG.Done()
		e.expirePreAuths(e.bg)
	}()
	ok = true
	return e, nil
}

// reserveEvents durably reserves a new block of event ids.
func (e *Engine) reserveEvents() (uint64, error) {
	var start uint64
	err := e.store.Commit(context.Background(), "agent: event ids", func(tx *offline.Tx) error {
		var err error
		start, err = eventBlockTx(tx)
		return err
	})
	return start, err
}

// recover settles what a previous process left unfinished, in one commit:
// payments waiting for (or reading) a card are aborted (failed), online
// ones are reversed and their held reversals released. It reserves the
// event ids of this life and returns the first.
func (e *Engine) recover() (uint64, []Payment, error) {
	var open []Payment
	err := e.scanPayments(time.Time{}, func(p Payment) bool {
		if !p.State.Final() {
			open = append(open, p)
		}
		return true
	})
	if err != nil {
		return 0, nil, err
	}
	var first uint64
	err = e.store.Commit(context.Background(), "agent: recover", func(tx *offline.Tx) error {
		var err error
		if first, err = eventBlockTx(tx); err != nil {
			return err
		}
		for i := range open {
			p := &open[i]
			note := "the previous process stopped"
			switch p.State {
			case StateOnline:
				if err := tx.Release(p.ID); err != nil && !errors.Is(err, offline.ErrNotFound) {
					return err
				}
				p.Reversed = true
				e.finalize(p, StateReversed, ReasonNoResponse, "no answer recorded before the previous process stopped: reversed")
			case StateReading:
				e.finalize(p, StateFailed, ReasonShutdown, note+" while the card was read")
			default:
				e.finalize(p, StateAborted, ReasonShutdown, note+" before a card was read")
			}
			if err := putPayment(tx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	for _, p := range open {
		e.log.Warn("agent: payment left unfinished by the previous process settled", "payment", p.ID, "state", p.State)
	}
	if first == 0 {
		first = 1
	}
	return first, open, nil
}

// now is the engine's clock.
func (e *Engine) now() time.Time { return e.cfg.Now() }

// setState changes p's state in memory (history, time).
func (e *Engine) setState(p *Payment, s State, note string) {
	at := e.now()
	p.State, p.Updated = s, at
	p.History = append(p.History, Step{State: s, At: at, Note: note})
}

// finalize moves p to a final state with its reason and receipt.
func (e *Engine) finalize(p *Payment, s State, reason, msg string) {
	e.setState(p, s, msg)
	p.Reason, p.Message = reason, msg
	p.Receipt = buildReceipt(p, e.term.MerchantName)
}

// commitState writes p (and what extra adds to the same transaction) and,
// once durable, announces the state. Money-moving states are fsync'd;
// the others too when SyncAllStates is set.
func (e *Engine) commitState(p *Payment, extra func(tx *offline.Tx) error) error {
	sync := e.cfg.SyncAllStates || !preMoney(p.State)
	commit := e.store.CommitLazy
	if sync {
		commit = e.store.Commit
	}
	err := commit(context.Background(), "agent: "+string(p.State), func(tx *offline.Tx) error {
		if err := e.applyCancel(tx, p.ID); err != nil {
			return err
		}
		if extra != nil {
			if err := extra(tx); err != nil {
				return err
			}
		}
		return putPayment(tx, p)
	})
	if err != nil {
		return err
	}
	e.announce(*p)
	return nil
}

// preMoney reports states in which no money has moved or can move.
func preMoney(s State) bool {
	return s == StateCreated || s == StateWaitingForCard || s == StateReading
}

// announce publishes a durable state change.
func (e *Engine) announce(p Payment) {
	e.events.publish(Event{Type: EventState, Payment: p.ID, State: p.State, Amount: p.Amount, Currency: p.Currency, Message: p.Message})
	switch p.State {
	case StateApproved, StateApprovedOffline, StateRefunded, StateCaptured:
		e.prompt(p.ID, PromptApproved, "")
	case StateDeclined, StateFailed, StateReversed:
		e.prompt(p.ID, PromptDeclined, p.Message)
	}
	if p.State.Final() && e.obs != nil {
		e.obs.Final(p)
	}
}

// prompt publishes a prompt for the cashier or customer.
func (e *Engine) prompt(id, prompt, msg string) {
	e.events.publish(Event{Type: EventPrompt, Payment: id, Prompt: prompt, Message: msg})
}

// validID: an idempotency key the uplink can carry (field 59) and the
// queue can derive its entry names from.
// ValidID reports whether id can name a payment: 1 to 64 letters, digits
// and - _ . : (queue entry names are built from it). The error is an
// *InvalidError for the field "id".
func ValidID(id string) error {
	if id == "" || len(id) > 64 {
		return &InvalidError{Field: "id", Reason: "must be 1 to 64 characters"}
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c)) {
			return &InvalidError{Field: "id", Reason: "only letters, digits and - _ . : are allowed"}
		}
	}
	return nil
}

func validAmount(a int64) error {
	if a <= 0 || a > 999999999999 {
		return &InvalidError{Field: "amount", Reason: "must be 1 to 999999999999 minor units"}
	}
	return nil
}

// digest identifies a request for idempotency.
func digest(parts ...any) []byte {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%v\x00", p)
	}
	return h.Sum(nil)
}

func sameDigest(a, b []byte) bool { return string(a) == string(b) }

// opLock serialises operations on one payment; n counts its holders and
// waiters, so that it is dropped when unused.
type opLock struct {
	mu sync.Mutex
	n  int
}

// lockOp serialises operations (void, capture, refund) on one payment.
func (e *Engine) lockOp(id string) func() {
	e.mu.Lock()
	l := e.opLocks[id]
	if l == nil {
		l = &opLock{}
		e.opLocks[id] = l
	}
	l.n++
	e.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		e.mu.Lock()
		if l.n--; l.n == 0 {
			delete(e.opLocks, id)
		}
		e.mu.Unlock()
	}
}

// Get returns a payment as stored.
func (e *Engine) Get(id string) (Payment, error) { return e.getPayment(id) }

// List returns up to limit payments created at or after since, oldest
// first (limit <= 0: all).
func (e *Engine) List(since time.Time, limit int) ([]Payment, error) {
	var out []Payment
	err := e.scanPayments(since, func(p Payment) bool {
		out = append(out, p)
		return limit <= 0 || len(out) < limit
	})
	return out, err
}

// Wait blocks until the payment is final or ctx ends, and returns it as
// it is then.
func (e *Engine) Wait(ctx context.Context, id string) (Payment, error) {
	e.mu.Lock()
	r := e.runs[id]
	e.mu.Unlock()
	if r != nil {
		select {
		case <-r.done:
		case <-ctx.Done():
		}
	}
	return e.getPayment(id)
}

// Pay creates the payment (idempotently by ID) and waits until it is
// final. ctx ending stops the waiting, not the payment.
func (e *Engine) Pay(ctx context.Context, req PaymentRequest) (Payment, error) {
	p, err := e.Start(ctx, req)
	if err != nil {
		return p, err
	}
	return e.Wait(ctx, p.ID)
}

// Subscribe replays the kept events after lastID, then streams new ones.
// The channel closes when cancel is called, when the engine closes, or
// when the subscriber falls too far behind (resume with the last id seen).
func (e *Engine) Subscribe(lastID uint64) (<-chan Event, func()) {
	return e.events.subscribe(lastID)
}

// Close stops the engine (SIGTERM): payments still waiting for a card are
// aborted at once; one whose request is online gets until ctx ends to be
// answered, then it is aborted (and reversed). Then the forwarder and the
// uplink stop and the file is closed.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	for _, r := range e.runs {
		if !r.sent.Load() || r.merchantQR {
			r.cancel(errShutdown)
		}
	}
	e.mu.Unlock()
	done := make(chan struct{})
	go func() {
		e.runWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		e.mu.Lock()
		for _, r := range e.runs {
			r.cancel(errShutdown)
		}
		e.mu.Unlock()
		<-done
	}
	e.bgCancel()
	e.bgWG.Wait()
	e.client.Close()
	e.events.shut()
	return e.store.Close()
}
