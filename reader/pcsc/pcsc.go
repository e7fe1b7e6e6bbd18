package pcsc

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"

	"github.com/ebfe/scard"
)

// Options configure a Context. The zero value works.
type Options struct {
	// Logger receives reconnects and card events; never APDU bytes. nil
	// discards.
	Logger *slog.Logger
}

// Context is a long-lived PC/SC handle. Its methods are safe for concurrent
// use. When pcscd restarts, the next call establishes a new PC/SC context.
type Context struct {
	log *slog.Logger

	mu     sync.Mutex
	sc     *scard.Context // nil until established, or after the service was lost
	closed bool
	// idle holds established PC/SC contexts that cards and waits have given
	// back: establishing one costs a few round trips to pcscd, which a tap
	// should not pay. See acquire and giveBack.
	idle []*scard.Context
	// names are the readers of the last listing, for WaitCard's fast path.
	names []string
}

// remember keeps the latest reader listing.
func (c *Context) remember(names []string) {
	c.mu.Lock()
	c.names = slices.Clone(names)
	c.mu.Unlock()
}

// maxIdle bounds the idle contexts kept for reuse.
const maxIdle = 4

// acquire returns a PC/SC context for one card or one wait: an idle one
// when there is one (reused=true), else a new one.
func (c *Context) acquire() (sc *scard.Context, reused bool, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, false, ErrClosed
	}
	if n := len(c.idle); n > 0 {
		sc = c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return sc, true, nil
	}
	c.mu.Unlock()
	sc, err = establish()
	return sc, false, err
}

// giveBack returns a context from acquire. healthy=false (the service was
// lost, or an SCardCancel may still be on its way) releases it instead.
func (c *Context) giveBack(sc *scard.Context, healthy bool) {
	c.mu.Lock()
	if healthy && !c.closed && len(c.idle) < maxIdle {
		c.idle = append(c.idle, sc)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	_ = sc.Release()
}

// Open establishes a PC/SC context. When pcscd is not running it fails with
// an error that wraps ErrNoService.
func Open(opts Options) (*Context, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Context{log: log}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.scardLocked(); err != nil {
		return nil, err
	}
	return c, nil
}

// establish opens one PC/SC context.
func establish() (*scard.Context, error) {
	sc, err := scard.EstablishContext()
	if err != nil {
		return nil, opError("establish context", "", err)
	}
	return sc, nil
}

// scardLocked returns the current PC/SC context, establishing it when needed.
func (c *Context) scardLocked() (*scard.Context, error) {
	if c.closed {
		return nil, ErrClosed
	}
	if c.sc != nil {
		return c.sc, nil
	}
	sc, err := establish()
	if err != nil {
		return nil, err
	}
	c.sc = sc
	return sc, nil
}

// do runs f on the PC/SC context; when f fails because the service was lost
// (pcscd restarted) it establishes a new context and runs f once more.
func (c *Context) do(f func(*scard.Context) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for attempt := 0; ; attempt++ {
		sc, err := c.scardLocked()
		if err != nil {
			return err
		}
		err = f(sc)
		if err == nil || attempt > 0 || !serviceLost(err) {
			return err
		}
		c.log.Info("pcsc: service lost, establishing a new context", "err", err)
		_ = sc.Release()
		c.sc = nil
	}
}

// Close releases the PC/SC contexts. Cards connected through it stay usable
// until they are closed themselves.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	for _, sc := range c.idle {
		_ = sc.Release()
	}
	c.idle = nil
	if c.sc == nil {
		return nil
	}
	err := c.sc.Release()
	c.sc = nil
	if err != nil && !serviceLost(err) {
		return opError("release context", "", err)
	}
	return nil
}

// ListReaders returns the names of the readers pcscd knows, sorted. No
// readers is an empty list, not an error.
func (c *Context) ListReaders() ([]string, error) {
	var names []string
	err := c.do(func(sc *scard.Context) error {
		var err error
		names, err = listReaders(sc)
		c.names = slices.Clone(names) // c.mu is held
		return err
	})
	if err != nil {
		return nil, opError("list readers", "", err)
	}
	return names, nil
}

func listReaders(sc *scard.Context) ([]string, error) {
	names, err := sc.ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return names, nil
}

// ReaderState is a reader and what is on it.
type ReaderState struct {
	Reader  string
	Present bool   // a card is in the field
	InUse   bool   // another application holds the card
	ATR     []byte // the card's ATR when Present
}

// Readers lists the readers with their current card state.
func (c *Context) Readers() ([]ReaderState, error) {
	var out []ReaderState
	err := c.do(func(sc *scard.Context) error {
		names, err := listReaders(sc)
		if err != nil || len(names) == 0 {
			return err
		}
		c.names = slices.Clone(names) // c.mu is held
		rs := make([]scard.ReaderState, len(names))
		for i, n := range names {
			rs[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
		}
		if err := sc.GetStatusChange(rs, 0); err != nil && !errors.Is(err, scard.ErrTimeout) {
			return err
		}
		out = make([]ReaderState, 0, len(rs))
		for _, r := range rs {
			if r.EventState&(scard.StateUnknown|scard.StateIgnore) != 0 {
				continue // left between the listing and the status query
			}
			out = append(out, stateOf(r))
		}
		return nil
	})
	if err != nil {
		return nil, opError("reader status", "", err)
	}
	return out, nil
}

func stateOf(r scard.ReaderState) ReaderState {
	s := ReaderState{Reader: r.Reader}
	if r.EventState&scard.StatePresent != 0 && r.EventState&scard.StateMute == 0 {
		s.Present = true
		s.ATR = slices.Clone(r.Atr)
	}
	s.InUse = r.EventState&scard.StateExclusive != 0
	return s
}

// cancelOnDone arranges for sc.Cancel to interrupt a blocking call when ctx
// ends. The returned stop must be called when the call returns; it reports
// false when the cancellation has started, after which sc must not be
// reused.
func cancelOnDone(ctx context.Context, sc *scard.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() { _ = sc.Cancel() })
}
