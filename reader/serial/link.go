package serial

import (
	"context"
	"errors"
	"log/slog"
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

// event is what the link read: a block, or a damaged one.
type event struct {
	blk frame.Block
	bad bool
}

// link runs the block protocol on one open port. It has no goroutine of its
// own: a transaction writes and then reads the port itself, as a raw echo
// would, so a round trip costs no hand-over between goroutines. Reads wake
// at least every CWT to discard a partial block and to notice ctx.
type link struct {
	port  Port
	cfg   linkConfig
	stats *Stats
	log   *slog.Logger

	sc      frame.Scanner
	buf     []byte
	last    time.Time // when the last byte arrived
	garbage int       // sc.Garbage already counted
	dead    error     // why the port failed; nil while alive

	hostNS, devNS byte
	dirty         bool // a resynchronisation failed: do one before the next command
	unclean       bool // the last transaction failed: bytes of it may still come
}

// errBWT is the internal "no block within the waiting time".
var errBWT = errors.New("block waiting time passed")

func newLink(p Port, cfg linkConfig, stats *Stats, log *slog.Logger) *link {
	return &link{port: p, cfg: cfg, stats: stats, log: log, buf: make([]byte, 1024),
		sc: frame.Scanner{Options: frame.DecodeOptions{NAD: frame.NADDevice, EDC: cfg.edc, IFS: frame.MaxIFS}}}
}

func (l *link) alive() bool { return l.dead == nil }

func (l *link) close() {
	_ = l.port.Close()
	if l.dead == nil {
		l.dead = ErrClosed
	}
}

// drain forgets what arrived after a failed transaction (late duplicates,
// noise). After a clean one nothing is expected, and the read is saved.
func (l *link) drain() {
	l.sc.Discard()
	l.sc.Garbage, l.garbage = 0, 0
	for l.dead == nil {
		_ = l.port.SetReadTimeout(0)
		n, err := l.port.Read(l.buf)
		if err != nil {
			l.dead = err
		}
		if n == 0 {
			return
		}
	}
}

func (l *link) send(b frame.Block) error {
	enc, err := frame.Encode(b, l.cfg.edc)
	if err != nil {
		return err // a bug: the host builds its blocks
	}
	if l.dead != nil {
		return &linkDown{l.dead}
	}
	if _, err := l.port.Write(enc); err != nil {
		l.dead = err
		return &linkDown{err}
	}
	return nil
}

// linkDown marks an I/O failure of the port.
type linkDown struct{ err error }

func (e *linkDown) Error() string { return e.err.Error() }

// next reads until a block (or a damaged one) is in, wait passes (errBWT),
// the command deadline passes (ErrTimeout), ctx ends, or the port fails
// (*linkDown).
func (l *link) next(ctx context.Context, wait time.Duration, deadline time.Time) (event, error) {
	until := time.Now().Add(wait)
	timeout := errBWT
	if !deadline.IsZero() && deadline.Before(until) {
		until, timeout = deadline, ErrTimeout
	}
	for {
		b, ok, err := l.sc.Next()
		if d := l.sc.Garbage - l.garbage; d > 0 {
			l.stats.Garbage.Add(int64(d))
			l.garbage = l.sc.Garbage
		}
		switch {
		case err != nil:
			l.stats.BadBlocks.Add(1)
			return event{bad: true}, nil
		case ok:
			return event{blk: b}, nil
		case l.dead != nil:
			return event{}, &linkDown{l.dead}
		case ctx.Err() != nil:
			return event{}, ctx.Err()
		}
		rem := time.Until(until)
		if rem <= 0 {
			return event{}, timeout
		}
		_ = l.port.SetReadTimeout(min(rem, l.cfg.cwt))
		n, err := l.port.Read(l.buf)
		if err != nil {
			l.dead = err
			return event{}, &linkDown{err}
		}
		if n == 0 {
			if l.sc.Pending() > 0 && time.Since(l.last) >= l.cfg.cwt {
				l.sc.Discard()
				l.garbage = l.sc.Garbage
				l.stats.BadBlocks.Add(1)
				return event{bad: true}, nil
			}
			continue
		}
		l.last = time.Now()
		l.sc.Feed(l.buf[:n])
	}
}

// transact sends one message and returns the response message. Errors are
// sentinels (ErrTimeout, ErrNoResponse, ErrBadBlocks, ErrProtocol,
// ErrAborted), a context error, or a *linkDown.
func (l *link) transact(ctx context.Context, msg []byte, deadline time.Time) ([]byte, error) {
	if l.unclean {
		l.drain()
	}
	l.unclean = true
	if l.dirty {
		if err := l.resynch(ctx, deadline); err != nil {
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
				return nil, l.giveUp(ctx, deadline, lastFailure)
			}
			if err := l.send(frame.R(frame.NADHost, l.devNS, frame.ROther)); err != nil {
				return nil, err
			}
			continue
		case errors.Is(err, ErrTimeout):
			l.dirty = true // resynchronised before the next command
			return nil, ErrTimeout
		case err != nil && ctx.Err() != nil:
			l.abort()
			return nil, err
		case err != nil:
			return nil, err
		case ev.bad:
			if err := fail(ErrBadBlocks); err != nil {
				return nil, l.giveUp(ctx, deadline, lastFailure)
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
					return nil, l.giveUp(ctx, deadline, lastFailure)
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
					return nil, l.giveUp(ctx, deadline, ErrProtocol)
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
				return nil, l.giveUp(ctx, deadline, ErrProtocol)
			}
			if !b.More {
				l.unclean = false
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
			case b.S == frame.IFS && !b.Response:
				// The device announces the largest block it takes: later
				// messages are cut to it.
				l.cfg.ifs = int(b.INF[0])
				if err := l.send(frame.S(frame.NADHost, frame.IFS, true, b.INF[0])); err != nil {
					return nil, err
				}
			case b.S == frame.Abort && !b.Response:
				_ = l.send(frame.S(frame.NADHost, frame.Abort, true))
				return nil, l.giveUp(ctx, deadline, ErrAborted)
			}
		}
	}
}

// giveUp resynchronises after a failed exchange, within what is left of
// the command's deadline (else before the next command), and returns err.
func (l *link) giveUp(ctx context.Context, deadline time.Time, err error) error {
	if rerr := l.resynch(ctx, deadline); rerr != nil {
		var ld *linkDown
		if errors.As(rerr, &ld) {
			return rerr
		}
	}
	return err
}

// abort cancels the device's pending command (S(ABORT)) and waits at most
// BWT for its answer. The link resynchronises before the next command: a
// response may have crossed the abort, and only a RESYNCH puts both sides'
// sequence numbers back in step.
func (l *link) abort() {
	l.dirty = true
	if l.send(frame.S(frame.NADHost, frame.Abort, false)) != nil {
		return
	}
	deadline := time.Now().Add(l.cfg.bwt)
	for {
		ev, err := l.next(context.Background(), l.cfg.bwt, deadline)
		if err != nil || (ev.blk.Kind == frame.KindS && ev.blk.S == frame.Abort && ev.blk.Response) {
			return
		}
	}
}

// resynch sends S(RESYNCH) until answered (retries times, each within BWT
// and before deadline when set) and resets the sequence numbers. On failure
// the link stays dirty.
func (l *link) resynch(ctx context.Context, deadline time.Time) error {
	l.stats.Resynchs.Add(1)
	l.hostNS, l.devNS = 0, 0
	l.dirty = true
	for range l.cfg.retries {
		if err := l.send(frame.S(frame.NADHost, frame.Resynch, false)); err != nil {
			return err
		}
		until := time.Now().Add(l.cfg.bwt)
		if !deadline.IsZero() && deadline.Before(until) {
			until = deadline
		}
		for {
			ev, err := l.next(ctx, l.cfg.bwt, until)
			if err != nil {
				var ld *linkDown
				if errors.As(err, &ld) || ctx.Err() != nil {
					return err
				}
				if !deadline.IsZero() && !time.Now().Before(deadline) {
					return ErrTimeout
				}
				break
			}
			if ev.blk.Kind == frame.KindS && ev.blk.S == frame.Resynch && ev.blk.Response {
				l.dirty = false
				l.sc.Discard()
				return nil
			}
		}
	}
	return ErrNoResponse
}
