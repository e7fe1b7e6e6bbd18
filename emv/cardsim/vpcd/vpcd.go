package vpcd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Default addresses of the two virtual readers of the Debian vpcd driver.
const (
	DefaultAddr  = "127.0.0.1:35963" // "Virtual PCD 00 00"
	DefaultAddr2 = "127.0.0.1:35964" // "Virtual PCD 00 01"
)

// Card is what the virtual reader drives: a software card that answers
// command APDUs, has an ATR and can be power-cycled. emv/cardsim.Card is one.
type Card interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
	Reset()
	ATR() []byte
}

// Options tune one attachment. The zero value attaches until the context ends.
type Options struct {
	// Logger receives connection events and message kinds, never APDU bytes.
	// nil discards.
	Logger *slog.Logger
	// RemoveAfterAPDUs, when > 0, answers that many APDUs and then removes
	// the card when the next APDU arrives, without answering it: the reader
	// sees a card pulled away in the middle of a transaction.
	RemoveAfterAPDUs int
	// OnAttach, when set, is called once the connection to the driver is up.
	OnAttach func()
}

// Stats counts what happened during one attachment.
type Stats struct {
	APDUs    int // command APDUs answered
	PowerOns int
	Removed  bool // the card side ended the attachment (context or RemoveAfterAPDUs)
}

// Errors of an attachment.
var (
	// ErrReaderClosed means the driver closed the connection: pcscd stopped
	// or the driver was unloaded.
	ErrReaderClosed = errors.New("vpcd: reader closed the connection (pcscd stopped?)")
	// ErrEmptyResponse means the card answered a command with no bytes.
	ErrEmptyResponse = errors.New("vpcd: card returned an empty response")
)

// DialError is a failure to reach the vpcd driver.
type DialError struct {
	Addr string
	Err  error
}

func (e *DialError) Error() string {
	return fmt.Sprintf("vpcd: dial %s: %v (is pcscd running with the vsmartcard-vpcd driver?)", e.Addr, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// Attach dials the vpcd driver at addr (a tap) and serves card until ctx
// ends or opts.RemoveAfterAPDUs is reached (the card is removed, err nil),
// the driver closes the connection (ErrReaderClosed), the card fails (the
// card goes mute: the connection is closed and the error returned) or the
// driver sends a malformed frame (*FrameError).
func Attach(ctx context.Context, addr string, card Card, opts Options) (Stats, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return Stats{}, ctx.Err()
		}
		return Stats{}, &DialError{Addr: addr, Err: err}
	}
	conn := c.(*net.TCPConn)
	_ = conn.SetNoDelay(true)
	log.Debug("vpcd: card attached", "addr", addr)
	if opts.OnAttach != nil {
		opts.OnAttach()
	}

	// Closing the socket is how the card leaves the field: do it when the
	// context ends, which also unblocks the read below.
	var once sync.Once
	closeConn := func() { once.Do(func() { _ = conn.Close() }) }
	stop := context.AfterFunc(ctx, closeConn)
	defer stop()
	defer closeConn()

	st, err := serve(ctx, conn, func() { quickAck(conn) }, card, opts, log)
	if ctx.Err() != nil && (err == nil || errors.Is(err, net.ErrClosed) || errors.Is(err, ErrReaderClosed)) {
		st.Removed = true
		err = nil
	}
	log.Debug("vpcd: card detached", "addr", addr, "apdus", st.APDUs, "err", err)
	return st, err
}

// serve runs the card side of the protocol over conn; arm is called before
// every read (TCP_QUICKACK).
func serve(ctx context.Context, conn io.ReadWriter, arm func(), card Card, opts Options, log *slog.Logger) (Stats, error) {
	var st Stats
	in := make([]byte, 0, 512)
	out := make([]byte, 0, 512)
	for {
		arm()
		payload, err := ReadFrame(conn, in[:0])
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return st, ErrReaderClosed
			}
			var fe *FrameError
			if errors.As(err, &fe) && errors.Is(fe.Err, net.ErrClosed) {
				return st, net.ErrClosed
			}
			return st, err
		}
		if cap(payload) > cap(in) {
			in = payload[:0]
		}
		msg, err := Decode(payload)
		if err != nil {
			return st, err
		}
		var reply []byte
		switch msg.Kind {
		case KindPowerOff:
			log.Debug("vpcd: power off")
			continue
		case KindPowerOn, KindReset:
			// A new card session: the software card forgets its state. No reply.
			st.PowerOns++
			card.Reset()
			log.Debug("vpcd: " + msg.Kind.String())
			continue
		case KindGetATR:
			reply = card.ATR()
		case KindAPDU:
			if opts.RemoveAfterAPDUs > 0 && st.APDUs >= opts.RemoveAfterAPDUs {
				log.Debug("vpcd: removing card mid-transaction", "after_apdus", st.APDUs)
				st.Removed = true
				return st, nil
			}
			t0 := time.Now()
			reply, err = card.Transmit(ctx, msg.APDU)
			if err != nil {
				return st, fmt.Errorf("vpcd: card: %w", err)
			}
			if len(reply) == 0 {
				return st, ErrEmptyResponse
			}
			st.APDUs++
			log.Debug("vpcd: apdu", "n", st.APDUs, "cmd_len", len(msg.APDU), "resp_len", len(reply), "took", time.Since(t0))
		}
		out, err = AppendFrame(out[:0], reply)
		if err != nil {
			return st, err
		}
		if _, err := conn.Write(out); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return st, net.ErrClosed
			}
			return st, ErrReaderClosed
		}
	}
}
