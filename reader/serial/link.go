package serial

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"posagent/reader/serial/frame"
)

// Stats counts what the link met. All fields only grow.
type Stats struct {
	Garbage      atomic.Int64 // bytes dropped while looking for a block
	BadBlocks    atomic.Int64 // blocks with a bad EDC, or cut short (CWT)
	Timeouts     atomic.Int64 // BWT passed without a block
	Retransmits  atomic.Int64 // blocks the host sent again
	WTX          atomic.Int64 // waiting time extensions granted
	Resynchs     atomic.Int64
	Reconnects   atomic.Int64 // links opened after the first
	LinkDrops    atomic.Int64
	CommandsDone atomic.Int64
}

// linkConfig is the block layer's part of a dongle profile.
type linkConfig struct {
	edc      frame.EDC
	ifs      int
	bwt, cwt time.Duration
	retries  int
}

// event is what the read loop found: a block, or a damaged one.
type event struct {
	blk frame.Block
	bad bool
}

// link runs the block protocol on one open port. One transaction at a time
// (the Dongle serialises); the read loop is its only other goroutine.
type link struct {
	port  Port
	cfg   linkConfig
	stats *Stats
	log   *slog.Logger

	events    chan event
	done      chan struct{} // closed when the read loop ends
	readErr   error         // why, set before done is closed
	closeOnce sync.Once

	hostNS, devNS byte
	dirty         bool // a resynchronisation failed: do one before the next command
}

// errBWT is the internal "no block within the waiting time".
var errBWT = errors.New("block waiting time passed")

func newLink(p Port, cfg linkConfig, stats *Stats, log *slog.Logger) *link {
	l := &link{port: p, cfg: cfg, stats: stats, log: log, events: make(chan event, 32), done: make(chan struct{})}
	// The read timeout is the tick at which a partial block is checked
	// against CWT.
	_ = p.SetReadTimeout(cfg.cwt)
	go l.readLoop()
	return l
}

func (l *link) readLoop() {
	defer close(l.done)
	sc := frame.Scanner{Options: frame.DecodeOptions{NAD: frame.NADDevice, EDC: l.cfg.edc, IFS: frame.MaxIFS}}
	buf := make([]byte, 1024)
	var last time.Time
	garbage := 0
	for {
		n, err := l.port.Read(buf)
		if err != nil {
			l.readErr = err
			return
		}
		now := time.Now()
		if n == 0 {
			if sc.Pending() > 0 && now.Sub(last) >= l.cfg.cwt {
				sc.Discard()
				l.stats.BadBlocks.Add(1)
				l.emit(event{bad: true})
			}
			l.countGarbage(&sc, &garbage)
			continue
		}
		last = now
		sc.Feed(buf[:n])
		for {
			b, ok, err := sc.Next()
			if err != nil {
				l.stats.BadBlocks.Add(1)
				l.emit(event{bad: true})
				continue
			}
			if !ok {
				break
			}
			l.emit(event{blk: b})
		}
		l.countGarbage(&sc, &garbage)
	}
}

func (l *link) countGarbage(sc *frame.Scanner, seen *int) {
	if d := sc.Garbage - *seen; d > 0 {
		l.stats.Garbage.Add(int64(d))
		*seen = sc.Garbage
	}
}

// emit hands an event to the transaction; when nobody reads and the buffer
// is full the oldest news is worthless and the event is dropped.
func (l *link) emit(e event) {
	select {
	case l.events <- e:
	default:
	}
}

func (l *link) alive() bool {
	select {
	case <-l.done:
		return false
	default:
		return true
	}
}

func (l *link) close() {
	l.closeOnce.Do(func() { _ = l.port.Close() })
	<-l.done
}

func (l *link) drain() {
	for {
		select {
		case <-l.events:
		default:
			return
		}
	}
}

func (l *link) send(b frame.Block) error {
	enc, err := frame.Encode(b, l.cfg.edc)
	if err != nil {
		return err // a bug: the host builds its blocks
	}
	if _, err := l.port.Write(enc); err != nil {
		return &linkDown{err}
	}
	return nil
}

// linkDown marks an I/O failure of the port.
type linkDown struct{ err error }

func (e *linkDown) Error() string { return e.err.Error() }

// next waits for an event until wait passes (errBWT), the command deadline
// passes (ErrTimeout), ctx ends, or the port fails (*linkDown).
func (l *link) next(ctx context.Context, wait time.Duration, deadline time.Time) (event, error) {
	until := time.Now().Add(wait)
	timeout := errBWT
	if !deadline.IsZero() && deadline.Before(until) {
		until, timeout = deadline, ErrTimeout
	}
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	select {
	case e := <-l.events:
		return e, nil
	case <-l.done:
		return event{}, &linkDown{l.readErr}
	case <-ctx.Done():
		return event{}, ctx.Err()
	case <-t.C:
		return event{}, timeout
	}
}

// transact sends one message and returns the response message. Errors are
// sentinels (ErrTimeout, ErrNoResponse, ErrBadBlocks, ErrProtocol,
// ErrAborted), a context error, or a *linkDown.
func (l *link) transact(ctx context.Context, msg []byte, deadline time.Time) ([]byte, error) {
	l.drain()
	if l.dirty {
		if err := l.resynch(ctx); err != nil {
			return nil, err
		}
	}
	chunks := frame.Split(msg, l.cfg.ifs)
	ci := 0
	var last frame.Block
	sendChunk := func() error {
		last = frame.I(frame.NADHost, l.hostNS, ci < len(chunks)-1, chunks[ci])
		return l.send(last)
	}
	if err := sendChunk(); err != nil {
		return nil, err
	}
	acked := false // the device has our whole message
	failures := 0
	var lastFailure error
	fail := func(kind error) error {
		failures++
		lastFailure = kind
		if failures > l.cfg.retries {
			return kind
		}
		return nil
	}
	var resp []byte
	wait := l.cfg.bwt
	for {
		ev, err := l.next(ctx, wait, deadline)
		wait = l.cfg.bwt
		switch {
		case errors.Is(err, errBWT):
			l.stats.Timeouts.Add(1)
			if err := fail(ErrNoResponse); err != nil {
				return nil, l.giveUp(ctx, lastFailure)
			}
			if err := l.send(frame.R(frame.NADHost, l.devNS, frame.ROther)); err != nil {
				return nil, err
			}
			continue
		case errors.Is(err, ErrTimeout):
			_ = l.resynch(context.WithoutCancel(ctx))
			return nil, ErrTimeout
		case err != nil && ctx.Err() != nil:
			l.abort()
			return nil, err
		case err != nil:
			return nil, err
		case ev.bad:
			if err := fail(ErrBadBlocks); err != nil {
				return nil, l.giveUp(ctx, lastFailure)
			}
			if err := l.send(frame.R(frame.NADHost, l.devNS, frame.REDCError)); err != nil {
				return nil, err
			}
			continue
		}
		b := ev.blk
		switch b.Kind {
		case frame.KindR:
			switch {
			case b.NR == last.NS && !acked:
				// The device did not get our block: send it again.
				l.stats.Retransmits.Add(1)
				if err := fail(ErrBadBlocks); err != nil {
					return nil, l.giveUp(ctx, lastFailure)
				}
				if err := l.send(last); err != nil {
					return nil, err
				}
			case last.More && !acked:
				// Acknowledgement of a chained block: the next one.
				l.hostNS ^= 1
				ci++
				failures = 0
				if err := sendChunk(); err != nil {
					return nil, err
				}
			default:
				// "Received, still working": keep waiting.
			}
		case frame.KindI:
			if !acked {
				if last.More {
					return nil, l.giveUp(ctx, ErrProtocol)
				}
				acked = true // the response acknowledges our last block
				l.hostNS ^= 1
			}
			if b.NS != l.devNS {
				// A block we already took (our acknowledgement was lost).
				if err := l.send(frame.R(frame.NADHost, l.devNS, frame.ROK)); err != nil {
					return nil, err
				}
				continue
			}
			l.devNS ^= 1
			failures = 0
			resp = append(resp, b.INF...)
			if len(resp) > frame.MaxMessage {
				return nil, l.giveUp(ctx, ErrProtocol)
			}
			if !b.More {
				return resp, nil
			}
			if err := l.send(frame.R(frame.NADHost, l.devNS, frame.ROK)); err != nil {
				return nil, err
			}
		case frame.KindS:
			switch {
			case b.S == frame.WTX && !b.Response:
				l.stats.WTX.Add(1)
				failures = 0
				if err := l.send(frame.S(frame.NADHost, frame.WTX, true, b.INF[0])); err != nil {
					return nil, err
				}
				wait = time.Duration(b.INF[0]) * l.cfg.bwt
			case b.S == frame.Abort && !b.Response:
				_ = l.send(frame.S(frame.NADHost, frame.Abort, true))
				return nil, l.giveUp(ctx, ErrAborted)
			}
		}
	}
}

// giveUp resynchronises after a failed exchange and returns err.
func (l *link) giveUp(ctx context.Context, err error) error {
	if rerr := l.resynch(context.WithoutCancel(ctx)); rerr != nil {
		var ld *linkDown
		if errors.As(rerr, &ld) {
			return rerr
		}
	}
	return err
}

// abort cancels the device's pending command (S(ABORT)), then resynchronises:
// a response may have crossed the abort, and only a RESYNCH puts both sides'
// sequence numbers back in step.
func (l *link) abort() {
	ctx := context.Background()
	if l.send(frame.S(frame.NADHost, frame.Abort, false)) == nil {
		deadline := time.Now().Add(l.cfg.bwt)
		for {
			ev, err := l.next(ctx, l.cfg.bwt, deadline)
			if err != nil || (ev.blk.Kind == frame.KindS && ev.blk.S == frame.Abort && ev.blk.Response) {
				break
			}
		}
	}
	_ = l.resynch(ctx)
}

// resynch sends S(RESYNCH) until answered (retries times) and resets the
// sequence numbers. On failure the link stays dirty.
func (l *link) resynch(ctx context.Context) error {
	l.stats.Resynchs.Add(1)
	l.hostNS, l.devNS = 0, 0
	l.dirty = true
	for range l.cfg.retries {
		if err := l.send(frame.S(frame.NADHost, frame.Resynch, false)); err != nil {
			return err
		}
		deadline := time.Now().Add(l.cfg.bwt)
		for {
			ev, err := l.next(ctx, l.cfg.bwt, deadline)
			if err != nil {
				var ld *linkDown
				if errors.As(err, &ld) || ctx.Err() != nil {
					return err
				}
				break
			}
			if ev.blk.Kind == frame.KindS && ev.blk.S == frame.Resynch && ev.blk.Response {
				l.dirty = false
				l.drain()
				return nil
			}
		}
	}
	return ErrNoResponse
}
