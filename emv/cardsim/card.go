package cardsim

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"posagent/emv/tlv"
	"posagent/reader"
)

// ErrRemoved is returned by Transmit when the card has left the field (the
// "removed" fault) until the next Reset: a terminal must ask for the card
// again.
var ErrRemoved = errors.New("cardsim: card removed from the field")

// ErrNotPersonalised is returned by Transmit on a Card not made by New.
var ErrNotPersonalised = errors.New("cardsim: card not personalised (use New)")

// Status words the card answers besides those of package reader.
const (
	swIncorrectP1P2 reader.SW = 0x6A86
	swWrongData     reader.SW = 0x6A80
	swNoDiagnosis   reader.SW = 0x6F00
)

// atr is the PC/SC part 3 pseudo-ATR of an ISO/IEC 14443-4 type A card
// without historical bytes, as PC/SC readers report EMV contactless cards:
// TS 3B, T0 80, TD1 80, TD2 01, TCK 01.
var atr = []byte{0x3B, 0x80, 0x80, 0x01, 0x01}

// Card is a software contactless card personalised from a Profile. It is
// safe for concurrent use: commands are serialised as on a real card, but a
// card serves one terminal session at a time, so drive it from one
// goroutine (its session state is the one of the last commands).
type Card struct {
	mu  sync.Mutex
	p   Profile
	im  *image
	atc uint16
	rng *rand.ChaCha8

	// Session state, cleared by Reset and by SELECT.
	app      bool // application selected
	selName  []byte
	gpo      bool
	removed  bool
	pulled   bool // the removed fault happened (once per card; Reset keeps it)
	pdolData []byte
	cdolData []byte
	term     map[tlv.Tag][]byte // terminal data received (PDOL, CDOL1, CDOL2)
	genAC    int                // GENERATE ACs answered in this session
	firstCID byte
}

// New personalises a card: it validates the profile, builds the files and
// signs the certificates (cached across cards with the same data), so a
// transaction only costs the dynamic signature.
func New(p Profile) (*Card, error) {
	p.AID = append([]byte(nil), p.AID...)
	p.PDOL = append([]byte(nil), p.PDOL...)
	p.CVMList = append([]byte(nil), p.CVMList...)
	if err := p.validate(); err != nil {
		return nil, err
	}
	im, err := personalise(&p)
	if err != nil {
		return nil, err
	}
	seed := sha256.Sum256(append([]byte(p.PAN+"|"+p.Name+"|"), p.AID...))
	return &Card{p: p, im: im, atc: p.ATC, rng: rand.NewChaCha8(seed)}, nil
}

// String describes the card with its PAN masked.
func (c *Card) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("cardsim.Card{%v ATC %04X}", c.p, c.atc)
}

// GoString masks %#v as String does.
func (c *Card) GoString() string { return c.String() }

// Profile returns a copy of the card's profile.
func (c *Card) Profile() Profile {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.p
	p.AID, p.PDOL, p.CVMList = slices.Clone(p.AID), slices.Clone(p.PDOL), slices.Clone(p.CVMList)
	return p
}

// ATR returns the card's answer to reset as a PC/SC reader reports it.
func (c *Card) ATR() []byte { return append([]byte(nil), atr...) }

// ATC returns the application transaction counter: the value of the last
// GET PROCESSING OPTIONS (the profile's start value before the first one).
func (c *Card) ATC() uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.atc
}

// Reset power-cycles the card: the session (selected application,
// transaction data, a removed state) is cleared; the ATC persists.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetSession()
}

func (c *Card) resetSession() {
	c.app, c.selName = false, nil
	c.removed = false
	c.clearTxn()
}

func (c *Card) clearTxn() {
	c.gpo, c.pdolData, c.cdolData, c.term = false, nil, nil, nil
	c.genAC, c.firstCID = 0, 0
}

// handler answers one command: response data and status word.
type handler func(c *Card, a reader.Command) ([]byte, reader.SW)

var commands = map[byte]struct {
	cla byte
	run handler
}{
	0xA4: {0x00, (*Card).selectCmd},
	0xB2: {0x00, (*Card).readRecord},
	0xA8: {0x80, (*Card).getProcessingOptions},
	0xAE: {0x80, (*Card).generateAC},
	0x88: {0x00, (*Card).internalAuthenticate},
	0xCA: {0x80, (*Card).getData},
	0xC0: {0x00, func(*Card, reader.Command) ([]byte, reader.SW) { return nil, reader.SWConditionsNotSatisf }},
}

// Transmit answers one command APDU with response data and status word.
// It never panics: malformed commands get a status word (6700 wrong
// length, 6E00 class, 6D00 instruction, 6A86 P1-P2, 6985 wrong state).
// The only errors are ctx's and ErrRemoved.
func (c *Card) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.im == nil {
		return nil, ErrNotPersonalised
	}
	if c.removed {
		return nil, ErrRemoved
	}
	data, sw := c.dispatch(cmd)
	out := make([]byte, 0, len(data)+2)
	out = append(out, data...)
	return append(out, sw.SW1(), sw.SW2()), nil
}

func (c *Card) dispatch(b []byte) ([]byte, reader.SW) {
	a, err := reader.ParseCommand(b)
	if err != nil || a.Extended { // extended lengths: not supported
		if len(b) >= 2 && b[0] != 0x00 && b[0] != 0x80 {
			return nil, reader.SWClaNotSupported
		}
		return nil, reader.SWWrongLength
	}
	if a.CLA != 0x00 && a.CLA != 0x80 {
		return nil, reader.SWClaNotSupported
	}
	h, ok := commands[a.INS]
	if !ok {
		return nil, reader.SWInsNotSupported
	}
	if a.CLA != h.cla {
		return nil, reader.SWClaNotSupported
	}
	data, sw := h.run(c, a)
	// ISO 7816-4: an Le shorter than the data is answered 6Cxx with the
	// exact length; the terminal re-sends (reader.Exchange does).
	if sw == reader.SWOK && a.Ne() != 0 && a.Ne() < len(data) && len(data) <= 256 {
		return nil, reader.SW(0x6C00 | uint16(len(data)&0xFF))
	}
	return data, sw
}

func (c *Card) selectCmd(a reader.Command) ([]byte, reader.SW) {
	if a.P1 != 0x04 || (a.P2 != 0x00 && a.P2 != 0x02) {
		return nil, swIncorrectP1P2
	}
	if len(a.Data) == 0 || len(a.Data) > 16 {
		return nil, reader.SWWrongLength
	}
	name := a.Data
	next := a.P2 == 0x02
	if string(name) == string(ppseName) {
		if next {
			return nil, reader.SWFileNotFound
		}
		c.resetSession()
		return slices.Clone(c.im.ppseFCI), reader.SWOK
	}
	aid := c.p.AID
	if len(name) < 5 || len(name) > len(aid) || string(aid[:len(name)]) != string(name) {
		return nil, reader.SWFileNotFound
	}
	if next && c.app && string(c.selName) == string(name) {
		return nil, reader.SWFileNotFound // one application: no next occurrence
	}
	if c.p.Fault == FaultBlocked {
		c.resetSession()
		return nil, reader.SWAppBlocked
	}
	c.resetSession()
	c.app, c.selName = true, append([]byte(nil), name...)
	return slices.Clone(c.im.fci), reader.SWOK
}

func (c *Card) readRecord(a reader.Command) ([]byte, reader.SW) {
	if len(a.Data) > 0 {
		return nil, reader.SWWrongLength
	}
	if a.P1 == 0 || a.P2&0x07 != 0x04 || a.P2>>3 == 0 {
		return nil, swIncorrectP1P2
	}
	if !c.gpo {
		return nil, reader.SWConditionsNotSatisf
	}
	sfi := a.P2 >> 3
	if c.p.Fault == FaultUnexpectedSW && sfi == 2 {
		return nil, swNoDiagnosis
	}
	r, ok := c.im.records[recKey(sfi, a.P1)]
	if !ok {
		return nil, reader.SWRecordNotFound
	}
	if c.p.Fault == FaultLastRecord6985 {
		if n := len(c.im.afl); n >= 4 && c.im.afl[n-4]>>3 == sfi && c.im.afl[n-2] == a.P1 {
			return nil, reader.SWConditionsNotSatisf
		}
	}
	return slices.Clone(r), reader.SWOK
}

func (c *Card) getData(a reader.Command) ([]byte, reader.SW) {
	if len(a.Data) > 0 {
		return nil, reader.SWWrongLength
	}
	if !c.app {
		return nil, reader.SWConditionsNotSatisf
	}
	switch uint16(a.P1)<<8 | uint16(a.P2) {
	case 0x9F36:
		return tlv.Encode(0x9F36, []byte{byte(c.atc >> 8), byte(c.atc)}), reader.SWOK
	case 0x9F13:
		return tlv.Encode(0x9F13, []byte{0, 0}), reader.SWOK
	case 0x9F17:
		return tlv.Encode(0x9F17, []byte{3}), reader.SWOK
	}
	return nil, reader.SWReferenceNotFound
}
