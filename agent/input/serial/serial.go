// Package serial puts an mPOS dongle (reader/serial) behind agent.Reader:
// the engine waits for a card on the dongle exactly as on a PC/SC reader,
// and the dongle's LED and buzzer show the cardholder what happened.
package serial

import (
	"context"
	"errors"
	"log/slog"

	"posagent/agent"
	"posagent/emv"
	firmwareprofiles "posagent/firmware-profiles"
	"posagent/reader/serial"
)

// Options configures a Reader.
type Options struct {
	// Name is the input's name in the engine (default: the dongle's,
	// "serial:" + path).
	Name string
	// Wrap, when set, wraps each card (e.g. a trace recorder).
	Wrap func(reader string, card *serial.Card) emv.Card
	// Logger receives signal failures (nil = discard).
	Logger *slog.Logger
}

// Reader is one engine input over a dongle.
type Reader struct {
	d    *serial.Dongle
	opts Options
	log  *slog.Logger
}

// New returns the input for d (the caller closes d).
func New(d *serial.Dongle, opts Options) *Reader {
	if opts.Name == "" {
		opts.Name = d.Name()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{d: d, opts: opts, log: log}
}

// Name implements agent.Reader.
func (r *Reader) Name() string { return r.opts.Name }

// Dongle is the dongle this input uses (device info, battery).
func (r *Reader) Dongle() *serial.Dongle { return r.d }

// WaitCard implements agent.Reader: it polls the dongle until a card is
// presented or ctx ends. A link that drops while waiting is reopened; the
// errors are reader/serial's typed errors (serial.ErrCancelled when ctx
// ends, serial.ErrBatteryLow, ...).
func (r *Reader) WaitCard(ctx context.Context, amount int64) (agent.CardSession, error) {
	card, err := r.d.WaitCard(ctx)
	if err != nil {
		return nil, err
	}
	s := &Session{card: card, tx: card, d: r.d, reader: r.opts.Name, log: r.log}
	if r.opts.Wrap != nil {
		s.tx = r.opts.Wrap(r.opts.Name, card)
	}
	s.signal(ctx, firmwareprofiles.SignalPresent)
	return s, nil
}

// Session is a card on the dongle.
type Session struct {
	card   *serial.Card
	tx     emv.Card
	d      *serial.Dongle
	reader string
	log    *slog.Logger
}

// Reader is the input's name; Profile the dongle profile's id.
func (s *Session) Reader() string  { return s.reader }
func (s *Session) Profile() string { return s.d.Profile().ID }

// Transmit implements emv.Card (raw APDUs; the kernel applies the 61xx and
// 6Cxx rules).
func (s *Session) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	return s.tx.Transmit(ctx, apdu)
}

// Signal shows success or failure on the dongle (agent.SignalSession).
func (s *Session) Signal(ctx context.Context, ok bool) {
	s.signal(ctx, firmwareprofiles.OutcomeSignal(ok))
}

func (s *Session) signal(ctx context.Context, sig firmwareprofiles.Signal) {
	if err := s.d.Signal(ctx, sig); err != nil && !errors.Is(err, firmwareprofiles.ErrNoSignal) {
		s.log.Warn("dongle signal failed", "reader", s.reader, "signal", sig, "err", err)
	}
}

// Close implements agent.CardSession: the dongle releases the card.
func (s *Session) Close() error { return s.card.Close() }

var _ agent.Reader = (*Reader)(nil)

var _ agent.SignalSession = (*Session)(nil)
