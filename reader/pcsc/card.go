package pcsc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"posagent/reader"
)

// ConnectOptions tune Connect. The zero value connects in shared mode with
// no length limit beyond PC/SC's own.
type ConnectOptions struct {
	// Exclusive asks for the card alone (other applications are refused).
	Exclusive bool
	// Contactless prefers T=1 (contactless cards are presented as T=1 by
	// PC/SC part 3 readers) and falls back to any protocol.
	Contactless bool
	// MaxAPDU, when > 0, refuses longer command APDUs before they reach the
	// reader (from the reader's firmware profile).
	MaxAPDU int
}

// Card is a connection to the card on one reader. It satisfies reader.Card.
// Its methods are safe for concurrent use (calls are serialised).
type Card struct {
	owner   *Context
	reader  string
	maxAPDU int

	mu     sync.Mutex
	sc     *scard.Context // this card's own (see package doc), from owner's idle list
	card   *scard.Card
	closed bool
	atr    []byte // read on first use
}

// Connect connects to the card on reader. It fails with ErrNoCard when the
// reader is empty and ErrReaderGone when the reader is unknown.
func (c *Context) Connect(ctx context.Context, reader string, opts ConnectOptions) (*Card, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sc, reused, err := c.acquire()
	if err != nil {
		return nil, err
	}
	card, err := connect(sc, reader, opts)
	if err != nil && reused && serviceLost(err) {
		// The idle context predates a pcscd restart.
		_ = sc.Release()
		if sc, err = establish(); err != nil {
			return nil, err
		}
		card, err = connect(sc, reader, opts)
	}
	if err != nil {
		c.giveBack(sc, !serviceLost(err))
		return nil, opError("connect", reader, err)
	}
	if p := card.ActiveProtocol(); p != scard.ProtocolT0 && p != scard.ProtocolT1 {
		// scard.Card.Transmit panics on any other protocol.
		_ = card.Disconnect(scard.LeaveCard)
		c.giveBack(sc, true)
		return nil, &OpError{Op: "connect", Reader: reader, Err: fmt.Errorf("unsupported protocol %d", p)}
	}
	return &Card{owner: c, reader: reader, maxAPDU: opts.MaxAPDU, sc: sc, card: card}, nil
}

// connect connects with the protocol contactless cards want.
func connect(sc *scard.Context, reader string, opts ConnectOptions) (*scard.Card, error) {
	mode := scard.ShareShared
	if opts.Exclusive {
		mode = scard.ShareExclusive
	}
	if !opts.Contactless {
		return sc.Connect(reader, mode, scard.ProtocolAny)
	}
	card, err := sc.Connect(reader, mode, scard.ProtocolT1)
	if errors.Is(err, scard.ErrProtoMismatch) {
		card, err = sc.Connect(reader, mode, scard.ProtocolAny)
	}
	return card, err
}

// Reader returns the name of the reader the card is on.
func (k *Card) Reader() string { return k.reader }

// ATR returns the card's ATR (nil when it cannot be read).
func (k *Card) ATR() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.atr == nil && !k.closed {
		if st, err := k.card.Status(); err == nil {
			k.atr = slices.Clone(st.Atr)
		}
	}
	return slices.Clone(k.atr)
}

// Protocol returns "T=0" or "T=1".
func (k *Card) Protocol() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.card != nil && k.card.ActiveProtocol() == scard.ProtocolT0 {
		return "T=0"
	}
	return "T=1"
}

// Transmit sends one command APDU and returns the response including SW1
// SW2. It applies no transport rule itself: use reader.Exchange for 61xx and
// 6Cxx. A card that left the field gives an error wrapping ErrCardRemoved.
// ctx is checked before the exchange; a PC/SC exchange cannot be interrupted.
func (k *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(apdu) < 4 {
		return nil, &OpError{Op: "transmit", Reader: k.reader, Err: fmt.Errorf("%w: %d bytes, shorter than a header", ErrAPDU, len(apdu))}
	}
	if k.maxAPDU > 0 && len(apdu) > k.maxAPDU {
		return nil, &OpError{Op: "transmit", Reader: k.reader, Err: fmt.Errorf("%w: %d bytes, reader takes at most %d", ErrAPDU, len(apdu), k.maxAPDU)}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, ErrClosed
	}
	resp, err := k.card.Transmit(apdu)
	if err != nil {
		return nil, k.explain("transmit", err)
	}
	if len(resp) < 2 {
		// Some drivers (vpcd among them) report a card that went away
		// mid-exchange as a successful exchange with no bytes.
		if k.gone(removalGrace) {
			return nil, &OpError{Op: "transmit", Reader: k.reader, Err: ErrCardRemoved}
		}
		return nil, &OpError{Op: "transmit", Reader: k.reader, Err: &reader.ShortResponseError{Len: len(resp)}}
	}
	return resp, nil
}

// explain turns a failed exchange into a typed error. A card pulled in the
// middle of an exchange is reported by drivers as a failed transaction or
// communication error before pcscd's next poll has seen the card go: wait
// up to removalGrace for the reader to report it.
func (k *Card) explain(op string, err error) error {
	var code scard.Error
	if errors.As(err, &code) && (code == scard.ErrNotTransacted || code == scard.ErrCommError || code == scard.ErrUnknownError) {
		if k.gone(removalGrace) {
			return &OpError{Op: op, Reader: k.reader, Code: code, Err: ErrCardRemoved}
		}
	}
	return opError(op, k.reader, err)
}

// removalGrace bounds the wait for pcscd to notice a removal: it polls
// readers about every 400 ms.
const removalGrace = 1200 * time.Millisecond

// gone reports whether the card left the reader within d.
func (k *Card) gone(d time.Duration) bool {
	rs := []scard.ReaderState{{Reader: k.reader, CurrentState: scard.StatePresent}}
	deadline := time.Now().Add(d)
	for {
		err := k.sc.GetStatusChange(rs, time.Until(deadline))
		if err != nil {
			// Timeout: the card is still there. Reader unknown: gone with it.
			return !errors.Is(err, scard.ErrTimeout)
		}
		if rs[0].EventState&scard.StatePresent == 0 || rs[0].EventState&(scard.StateEmpty|scard.StateUnknown|scard.StateUnavailable) != 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		rs[0].CurrentState = rs[0].EventState &^ scard.StateChanged
	}
}

// Control sends an SCardControl request (a reader escape command) and
// returns the reader's answer.
func (k *Card) Control(ioctl uint32, in []byte) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, ErrClosed
	}
	out, err := k.card.Control(ioctl, in)
	if err != nil {
		return nil, k.explain("control", err)
	}
	return out, nil
}

// Escape sends a reader escape command through SCardControl with
// SCARD_CTL_CODE(ctlCode); reader profiles give the code and the bytes.
func (k *Card) Escape(ctlCode uint16, in []byte) ([]byte, error) {
	return k.Control(scard.CtlCode(ctlCode), in)
}

// EscapeIOCTL is the control code of the CCID escape command
// (SCARD_CTL_CODE(1) with pcsc-lite's CCID driver; SCARD_CTL_CODE(3500) in
// Windows terms). pcsc-lite's driver only passes it when ifdDriverOptions
// allows it (DRIVER_OPTION_CCID_EXCHANGE_AUTHORIZED).
func EscapeIOCTL() uint32 { return scard.CtlCode(1) }

// Present reports whether the card is still in the field.
func (k *Card) Present() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return false
	}
	st, err := k.card.Status()
	return err == nil && st.State&scard.Present != 0
}

// Close disconnects, leaving the card powered (a contactless card is
// powered by the field anyway), and gives the card's PC/SC context back.
func (k *Card) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	k.closed = true
	err := k.card.Disconnect(scard.LeaveCard)
	k.owner.giveBack(k.sc, err == nil || !serviceLost(err))
	if err != nil && !serviceLost(err) && !errors.Is(sentinel(codeOf(err)), ErrCardRemoved) && !errors.Is(sentinel(codeOf(err)), ErrReaderGone) {
		return opError("disconnect", k.reader, err)
	}
	return nil
}

func codeOf(err error) scard.Error {
	var code scard.Error
	errors.As(err, &code)
	return code
}
