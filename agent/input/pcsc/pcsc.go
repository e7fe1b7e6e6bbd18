// Package pcsc puts PC/SC readers (reader/pcsc, cgo) behind agent.Reader:
// a Reader waits for a card on any reader whose name matches, connects
// with the options of the reader's firmware profile and drives its LED and
// buzzer. It is kept out of package agent so that the engine builds
// without cgo.
package pcsc

import (
	"context"
	"errors"
	"log/slog"
	"regexp"

	"posagent/agent"
	"posagent/emv"
	firmwareprofiles "posagent/firmware-profiles"
	"posagent/reader/pcsc"
)

// Options configures a Reader.
type Options struct {
	// Name is the input's name in the engine (default "pcsc").
	Name string
	// Match selects readers by name (nil: every reader whose profile is
	// contactless).
	Match *regexp.Regexp
	// Profiles are the firmware profiles (nil: the embedded ones).
	Profiles *firmwareprofiles.Set
	// Wrap, when set, wraps each connected card (e.g. a trace recorder);
	// reader is the PC/SC reader's name.
	Wrap func(reader string, card *pcsc.Card) emv.Card
	// Logger receives reader signal failures (nil = discard).
	Logger *slog.Logger
}

// Reader is one engine input over a PC/SC context.
type Reader struct {
	pc   *pcsc.Context
	opts Options
	log  *slog.Logger
}

// New returns a reader on the PC/SC context pc (the caller closes pc).
func New(pc *pcsc.Context, opts Options) (*Reader, error) {
	if opts.Name == "" {
		opts.Name = "pcsc"
	}
	if opts.Profiles == nil {
		set, err := firmwareprofiles.Embedded()
		if err != nil {
			return nil, err
		}
		opts.Profiles = set
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{pc: pc, opts: opts, log: log}, nil
}

// Name implements agent.Reader.
func (r *Reader) Name() string { return r.opts.Name }

// Accepts reports whether the reader named name is one this input uses.
func (r *Reader) Accepts(name string) bool {
	if r.opts.Match != nil {
		return r.opts.Match.MatchString(name)
	}
	return r.opts.Profiles.Match(name).Contactless
}

// WaitCard implements agent.Reader: it waits for a card on an accepted
// reader and connects to it.
func (r *Reader) WaitCard(ctx context.Context, amount int64) (agent.CardSession, error) {
	st, err := r.pc.WaitCard(ctx, r.Accepts)
	if err != nil {
		return nil, err
	}
	prof := r.opts.Profiles.Match(st.Reader)
	card, err := r.pc.Connect(ctx, st.Reader, pcsc.ConnectOptions{Contactless: prof.Contactless, MaxAPDU: prof.MaxAPDU})
	if err != nil {
		return nil, err
	}
	s := &Session{card: card, reader: st.Reader, prof: prof, log: r.log, tx: card}
	if r.opts.Wrap != nil {
		s.tx = r.opts.Wrap(st.Reader, card)
	}
	s.signal(ctx, firmwareprofiles.SignalPresent)
	return s, nil
}

// Session is a connected card.
type Session struct {
	card   *pcsc.Card
	tx     emv.Card
	reader string
	prof   *firmwareprofiles.Profile
	log    *slog.Logger
}

// Reader is the PC/SC reader's name; Profile the firmware profile's id.
func (s *Session) Reader() string  { return s.reader }
func (s *Session) Profile() string { return s.prof.ID }

// Transmit implements emv.Card.
func (s *Session) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	return s.tx.Transmit(ctx, apdu)
}

// Signal implements agent.SignalSession through the reader's profile.
func (s *Session) Signal(ctx context.Context, ok bool) {
	s.signal(ctx, firmwareprofiles.OutcomeSignal(ok))
}

func (s *Session) signal(ctx context.Context, sig firmwareprofiles.Signal) {
	if err := s.prof.Signal(ctx, s.card, sig); err != nil && !errors.Is(err, firmwareprofiles.ErrNoSignal) {
		s.log.Warn("reader signal failed", "reader", s.reader, "signal", sig, "err", err)
	}
}

// Close implements agent.CardSession.
func (s *Session) Close() error { return s.card.Close() }
