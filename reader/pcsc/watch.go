package pcsc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ebfe/scard"
)

// pnpReader is pcsc-lite's pseudo reader whose state changes when a reader
// is plugged in or out.
const pnpReader = `\\?PnP?\Notification`

// EventKind says what changed.
type EventKind int

// Event kinds, in the order a first snapshot reports them.
const (
	ReaderAdded   EventKind = iota + 1 // Present tells whether a card is on it
	CardInserted                       // ATR set
	CardRemoved                        //
	ReaderRemoved                      // unplugged, or pcscd went away
	ServiceLost                        // pcscd stopped; Watch keeps trying to reconnect
	ServiceBack                        // pcscd answers again; ReaderAdded events follow
)

func (k EventKind) String() string {
	switch k {
	case ReaderAdded:
		return "reader-added"
	case CardInserted:
		return "card-inserted"
	case CardRemoved:
		return "card-removed"
	case ReaderRemoved:
		return "reader-removed"
	case ServiceLost:
		return "service-lost"
	case ServiceBack:
		return "service-back"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one change seen by Watch.
type Event struct {
	Kind    EventKind
	Reader  string
	Present bool   // card on the reader after this event
	ATR     []byte // with CardInserted, and ReaderAdded when Present
	Time    time.Time
}

// WatchOptions tune Watch. The zero value works.
type WatchOptions struct {
	// Retry is the pause between attempts to reach pcscd after it went
	// away; default 250 ms.
	Retry time.Duration
	// Poll bounds each blocking status call; default 1 s. Cancellation does
	// not wait for it (SCardCancel interrupts the call).
	Poll time.Duration
}

// Watch reports the readers present now (ReaderAdded, with their card
// state) and then every change, calling fn for each event in order, until
// fn returns false (Watch returns nil) or ctx ends (Watch returns
// ctx.Err()). If pcscd is not reachable when Watch starts it returns an
// error wrapping ErrNoService; if pcscd goes away later, Watch reports
// ServiceLost and ReaderRemoved for every reader, reconnects when pcscd is
// back (ServiceBack) and carries on.
//
// Watch returns within watchGrace of ctx ending even when a status call is
// stuck inside libpcsclite (seen after pcscd restarts: the client library
// waits for an answer the daemon never sends); fn is not called after Watch
// returns, and the stuck call's context is released when it comes back.
func (c *Context) Watch(ctx context.Context, opts WatchOptions, fn func(Event) bool) error {
	var mu sync.Mutex
	abandoned := false
	guarded := func(e Event) bool {
		mu.Lock()
		defer mu.Unlock()
		return !abandoned && fn(e)
	}
	done := make(chan error, 1)
	go func() { done <- c.watch(ctx, opts, guarded) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-done:
		return err
	case <-time.After(watchGrace):
		mu.Lock()
		abandoned = true
		mu.Unlock()
		c.log.Warn("pcsc: status call not returning after cancellation; pcscd is not answering, watch abandoned")
		return ctx.Err()
	}
}

// watchGrace is how long Watch waits for a cancelled status call.
const watchGrace = 3 * time.Second

func (c *Context) watch(ctx context.Context, opts WatchOptions, fn func(Event) bool) error {
	if opts.Retry <= 0 {
		opts.Retry = 250 * time.Millisecond
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	w := &watcher{c: c, opts: opts, fn: fn, known: map[string]ReaderState{}, pending: map[string]bool{}, flags: map[string]scard.StateFlag{}}
	sc, reused, err := c.acquire()
	if err != nil {
		return err
	}
	for {
		canceled, err := w.run(ctx, sc)
		if reused && serviceLost(err) && !w.started {
			// The idle context predates a pcscd restart: nothing was
			// reported yet, start over with a new one.
			_ = sc.Release()
			if sc, err = establish(); err != nil {
				return err
			}
			reused = false
			continue
		}
		if err == nil || errors.Is(err, ctx.Err()) {
			c.giveBack(sc, !canceled)
		} else {
			_ = sc.Release()
		}
		if w.stopped {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !serviceLost(err) {
			return err
		}
		c.log.Info("pcsc: service lost while watching", "err", err)
		if !w.emit(Event{Kind: ServiceLost}) || !w.dropAll() {
			return nil
		}
		if sc, err = w.reestablish(ctx); err != nil {
			return err
		}
		reused = false
		if !w.emit(Event{Kind: ServiceBack}) {
			return nil
		}
	}
}

type watcher struct {
	c       *Context
	opts    WatchOptions
	fn      func(Event) bool
	known   map[string]ReaderState
	pending map[string]bool // listed, ReaderAdded not yet reported
	// flags holds the last event state of each reader and of the PnP
	// reader, passed back as the current state so that only a difference
	// wakes GetStatusChange. Missing means unaware.
	flags   map[string]scard.StateFlag
	started bool // an event was reported
	stopped bool
}

func (w *watcher) emit(e Event) bool {
	if w.stopped {
		return false
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	w.started = true
	if !w.fn(e) {
		w.stopped = true
	}
	return !w.stopped
}

// dropAll reports every known reader as gone.
func (w *watcher) dropAll() bool {
	clear(w.flags)
	for _, name := range sortedKeys(w.known) {
		delete(w.known, name)
		if w.pending[name] {
			delete(w.pending, name)
			continue
		}
		if !w.emit(Event{Kind: ReaderRemoved, Reader: name}) {
			return false
		}
	}
	return true
}

func (w *watcher) reestablish(ctx context.Context) (*scard.Context, error) {
	t := time.NewTicker(w.opts.Retry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		sc, err := establish()
		if err == nil {
			// pcscd answers before its drivers have registered every reader;
			// the PnP notification reports the late ones.
			return sc, nil
		}
		if !serviceLost(err) {
			return nil, err
		}
	}
}

// run watches with one PC/SC context until an error, cancellation or stop.
// canceled reports that SCardCancel was (or is being) sent on sc.
func (w *watcher) run(ctx context.Context, sc *scard.Context) (canceled bool, err error) {
	stop := cancelOnDone(ctx, sc)
	defer func() { canceled = !stop() }()
	return false, w.loop(ctx, sc)
}

func (w *watcher) loop(ctx context.Context, sc *scard.Context) error {
	for {
		names, err := listReaders(sc)
		if err != nil {
			return err
		}
		w.c.remember(names)
		if !w.syncReaders(names) {
			return nil
		}
		states := make([]scard.ReaderState, 0, len(names)+1)
		for _, n := range names {
			states = append(states, scard.ReaderState{Reader: n, CurrentState: w.flags[n]})
		}
		states = append(states, scard.ReaderState{Reader: pnpReader, CurrentState: w.flags[pnpReader]})
		// First call with Unaware returns at once with the current states.
		relist, err := w.poll(ctx, sc, states)
		if err != nil || w.stopped {
			return err
		}
		for !relist {
			if relist, err = w.poll(ctx, sc, states); err != nil || w.stopped {
				return err
			}
		}
	}
}

// poll makes one GetStatusChange call and reports card changes. It returns
// relist=true when the set of readers may have changed.
func (w *watcher) poll(ctx context.Context, sc *scard.Context, states []scard.ReaderState) (relist bool, err error) {
	err = sc.GetStatusChange(states, w.opts.Poll)
	switch {
	case err == nil:
	case errors.Is(err, scard.ErrTimeout):
		return false, nil
	case errors.Is(err, scard.ErrCancelled):
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, nil
	case errors.Is(err, scard.ErrUnknownReader), errors.Is(err, scard.ErrReaderUnavailable):
		return true, nil
	default:
		return false, err
	}
	for i := range states {
		s := &states[i]
		if s.EventState&scard.StateChanged == 0 {
			continue
		}
		pnp := s.Reader == pnpReader
		if pnp {
			relist = true
		} else if s.EventState&(scard.StateUnknown|scard.StateUnavailable) != 0 {
			relist = true
		} else if !w.cardChange(stateOf(*s)) {
			return false, nil
		}
		s.CurrentState = s.EventState &^ scard.StateChanged
		w.flags[s.Reader] = s.CurrentState
	}
	return relist, nil
}

// syncReaders reports readers that appeared or left since the last listing.
func (w *watcher) syncReaders(names []string) bool {
	for _, name := range sortedKeys(w.known) {
		if !slices.Contains(names, name) {
			delete(w.known, name)
			delete(w.flags, name)
			if w.pending[name] {
				delete(w.pending, name)
				continue
			}
			if !w.emit(Event{Kind: ReaderRemoved, Reader: name}) {
				return false
			}
		}
	}
	for _, n := range names {
		if _, ok := w.known[n]; ok {
			continue
		}
		// ReaderAdded waits for the reader's first state (see cardChange).
		w.known[n] = ReaderState{Reader: n}
		w.pending[n] = true
	}
	return true
}

// cardChange compares a reader's new state with the known one.
func (w *watcher) cardChange(now ReaderState) bool {
	old, ok := w.known[now.Reader]
	if !ok {
		return true
	}
	w.known[now.Reader] = now
	if w.pending[now.Reader] {
		delete(w.pending, now.Reader)
		return w.emit(Event{Kind: ReaderAdded, Reader: now.Reader, Present: now.Present, ATR: slices.Clone(now.ATR)})
	}
	switch {
	case now.Present && (!old.Present || !slices.Equal(old.ATR, now.ATR)):
		if old.Present {
			// Another card replaced the first between two polls.
			if !w.emit(Event{Kind: CardRemoved, Reader: now.Reader}) {
				return false
			}
		}
		return w.emit(Event{Kind: CardInserted, Reader: now.Reader, Present: true, ATR: slices.Clone(now.ATR)})
	case !now.Present && old.Present:
		return w.emit(Event{Kind: CardRemoved, Reader: now.Reader})
	}
	return true
}

func sortedKeys(m map[string]ReaderState) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// WaitCard waits until a card is on a reader accepted by match (nil accepts
// every reader) and returns that reader's state. A card already present
// counts. It returns ctx.Err() when ctx ends first.
func (c *Context) WaitCard(ctx context.Context, match func(reader string) bool) (ReaderState, error) {
	if err := ctx.Err(); err != nil {
		return ReaderState{}, err
	}
	if st, ok := c.presentNow(match); ok {
		return st, nil
	}
	var got ReaderState
	err := c.Watch(ctx, WatchOptions{}, func(e Event) bool {
		if !e.Present || (e.Kind != CardInserted && e.Kind != ReaderAdded) {
			return true
		}
		if match != nil && !match(e.Reader) {
			return true
		}
		got = ReaderState{Reader: e.Reader, Present: true, ATR: e.ATR}
		return false
	})
	if err != nil {
		return ReaderState{}, err
	}
	return got, nil
}

// presentNow is WaitCard's fast path for a card already on the reader: one
// status query over the readers seen last time. It reports false when it
// cannot tell (no listing yet, a reader gone, an error): Watch then decides.
func (c *Context) presentNow(match func(reader string) bool) (ReaderState, bool) {
	c.mu.Lock()
	names := slices.Clone(c.names)
	c.mu.Unlock()
	if len(names) == 0 {
		return ReaderState{}, false
	}
	sc, _, err := c.acquire()
	if err != nil {
		return ReaderState{}, false
	}
	rs := make([]scard.ReaderState, len(names))
	for i, n := range names {
		rs[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
	}
	err = sc.GetStatusChange(rs, 0)
	c.giveBack(sc, err == nil || !serviceLost(err))
	if err != nil {
		return ReaderState{}, false
	}
	for _, r := range rs {
		if r.EventState&(scard.StateUnknown|scard.StateIgnore) != 0 {
			continue
		}
		if st := stateOf(r); st.Present && (match == nil || match(st.Reader)) {
			return st, true
		}
	}
	return ReaderState{}, false
}

// WaitRemoval waits until reader has no card. It returns at once when the
// reader is already empty, and an error wrapping ErrReaderGone when pcscd
// does not know the reader (or it leaves while waiting).
func (c *Context) WaitRemoval(ctx context.Context, reader string) error {
	states, err := c.Readers()
	if err != nil {
		return err
	}
	i := slices.IndexFunc(states, func(s ReaderState) bool { return s.Reader == reader })
	if i < 0 {
		return &OpError{Op: "wait for removal", Reader: reader, Err: ErrReaderGone}
	}
	if !states[i].Present {
		return nil
	}
	var gone bool
	err = c.Watch(ctx, WatchOptions{}, func(e Event) bool {
		if e.Reader != reader {
			return true
		}
		switch e.Kind {
		case ReaderAdded:
			return e.Present
		case CardRemoved:
			return false
		case ReaderRemoved:
			gone = true
			return false
		}
		return true
	})
	if err == nil && gone {
		return &OpError{Op: "wait for removal", Reader: reader, Err: ErrReaderGone}
	}
	return err
}
