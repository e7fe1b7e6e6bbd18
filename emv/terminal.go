package emv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"posagent/money"
	"time"

	"posagent/emv/capk"
	"posagent/emv/oda"
	"posagent/emv/tlv"
	"posagent/reader"
)

// Card is what the kernel needs from a card: one APDU in, one response
// (data and SW1 SW2) out. Readers, dongles, software cards and replayed
// recordings satisfy it.
type Card interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// RecordedSession is implemented by a replayed recording. The kernel asks it
// for the recorded command with the given CLA and INS (the next one it has
// not answered yet) and takes the terminal's dynamic data (unpredictable
// number, amount, date, TTQ) from it, so that its own commands match the
// recording and offline data authentication verifies as it did live.
type RecordedSession interface {
	RecordedCommand(cla, ins byte) ([]byte, bool)
}

// DivergenceNoter is implemented by a replayed recording that reports where
// the kernel followed the recording against its own choice (the recorded
// GENERATE AC reference control parameter).
type DivergenceNoter interface {
	NoteDivergence(cla, ins byte, reason string)
}

// Terminal runs transactions. Its zero value is not usable: set Config (e.g.
// DefaultConfig()). It is safe for concurrent use by several transactions on
// different cards.
type Terminal struct {
	Config Config
	// CAKeys is the CA public key list; nil means the embedded list.
	CAKeys *capk.List
	// Rand is the source of unpredictable numbers; nil means crypto/rand.
	Rand io.Reader
	// Now gives the transaction date and time; nil means time.Now.
	Now func() time.Time
	// Revoked lists revoked issuer certificates.
	Revoked oda.RevocationList
}

// Transaction is one payment's terminal-side data.
type Transaction struct {
	// Amount and OtherAmount (cashback) in minor units.
	Amount, OtherAmount int64
	// Currency is the ISO 4217 numeric code (978); 0 means the configured one.
	Currency uint16
	// Type is the EMV transaction type (9C): 0x00 purchase, 0x09 cashback,
	// 0x20 refund.
	Type byte
	// Date is the transaction date and time; zero means Terminal.Now().
	Date time.Time
}

// Errors Run returns instead of an outcome: the card could not be talked to.
var (
	ErrNoCard = errors.New("emv: card communication failed")
)

// Run performs one contactless transaction on card: Entry Point, the
// selected kernel, and outcome processing. Problems with what the card
// answers end in an outcome with a Reason; err is set only when the card
// could not be talked to (removed, reader gone, ctx done), in which case no
// outcome must be acted on.
func (t *Terminal) Run(ctx context.Context, card Card, tx Transaction) (*Result, error) {
	if err := t.Config.Validate(); err != nil {
		return nil, err
	}
	s := &session{t: t, ctx: ctx, card: &countingCard{card: card}, tx: tx, res: &Result{}}
	s.recorded, _ = card.(RecordedSession)
	if s.tx.Currency == 0 {
		s.tx.Currency = t.Config.CurrencyCode
	}
	if _, err := money.Numeric(s.tx.Currency); err != nil {
		return nil, fmt.Errorf("emv: transaction currency: %w", err)
	}
	if s.tx.Date.IsZero() {
		if t.Now != nil {
			s.tx.Date = t.Now()
		} else {
			s.tx.Date = time.Now()
		}
	}
	rnd := t.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	un := make([]byte, 4)
	if _, err := io.ReadFull(rnd, un); err != nil {
		return nil, fmt.Errorf("emv: unpredictable number: %w", err)
	}
	s.un = un
	err := s.entryPoint()
	s.res.Commands = s.card.(*countingCard).n
	s.res.Date = s.tx.Date
	if err != nil {
		return s.res, err
	}
	return s.res, nil
}

// countingCard counts the APDUs the kernel sends.
type countingCard struct {
	card Card
	n    int
}

func (c *countingCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	c.n++
	return c.card.Transmit(ctx, apdu)
}

// session is the state of one transaction.
type session struct {
	t        *Terminal
	ctx      context.Context
	card     Card
	recorded RecordedSession
	tx       Transaction
	un       []byte
	res      *Result

	// Per application attempt:
	cand       *candidate
	term       map[tlv.Tag][]byte // terminal data for DOLs
	icc        map[tlv.Tag][]byte // card data, first occurrence wins
	pdolData   []byte
	staticData []byte
	staticBad  bool // a record for ODA was not a 70 template
	// certExpired is the expiry failure of a certificate whose chain
	// otherwise verified (see iccKey).
	certExpired error
	certsRead   bool // the certificates were recovered (expiry aside)
	tvr         [5]byte
}

// cardError is a transport failure: the caller gets it as Run's error.
type cardError struct{ err error }

func (e *cardError) Error() string   { return fmt.Sprintf("%v: %v", ErrNoCard, e.err) }
func (e *cardError) Unwrap() []error { return []error{ErrNoCard, e.err} }

// exchange sends one command with the transport rules. A transport failure
// is returned as *cardError; status words are returned as sw.
func (s *session) exchange(cmd reader.Command) ([]byte, reader.SW, error) {
	data, sw, err := reader.Exchange(s.ctx, s.card, cmd)
	if err != nil {
		var short *reader.ShortResponseError
		if errors.As(err, &short) || errors.Is(err, reader.ErrTransportLoop) {
			// Bad bytes from the card, not a dead link: an outcome.
			return nil, sw, &protocolError{what: cmd.String(), err: err}
		}
		if ctxErr := s.ctx.Err(); ctxErr != nil {
			return nil, 0, &cardError{err: ctxErr}
		}
		return nil, 0, &cardError{err: err}
	}
	return data, sw, nil
}

// protocolError is a malformed exchange: ends the application, not the run.
type protocolError struct {
	what string
	err  error
}

func (e *protocolError) Error() string { return fmt.Sprintf("%s: %v", e.what, e.err) }
func (e *protocolError) Unwrap() error { return e.err }

// endApp sets an End Application outcome with a reason.
func (s *session) endApp(format string, a ...any) {
	s.res.Outcome = EndApplication
	s.res.Reason = fmt.Sprintf(format, a...)
}

// isCardError tells transport failures from card-content problems.
func isCardError(err error) bool {
	var ce *cardError
	return errors.As(err, &ce)
}
