package cardsim

import (
	"context"
	"errors"
	"slices"
	"sync"

	"posagent/emv/tlv"
	"posagent/reader"
)

// Multi is a card with several applications (a co-badged or multi-scheme
// card), one personalised Card per application. Its PPSE lists every
// application in order; SELECT by name picks the first application whose
// AID starts with the name (P2 02: the next one after the current), and the
// commands that follow go to the selected application. Each application
// keeps its own data, keys and counter, so a terminal that mixes up two
// applications' facts shows it.
type Multi struct {
	mu   sync.Mutex
	apps []*Card
	sel  int // index of the selected application, -1 when none
}

// NewMulti personalises one Card per profile.
func NewMulti(profiles ...Profile) (*Multi, error) {
	if len(profiles) == 0 {
		return nil, &ProfileError{Field: "profiles", Err: errors.New("a card needs at least one application")}
	}
	m := &Multi{sel: -1}
	for _, p := range profiles {
		c, err := New(p)
		if err != nil {
			return nil, err
		}
		m.apps = append(m.apps, c)
	}
	return m, nil
}

// App returns application i (in the PPSE's order).
func (m *Multi) App(i int) *Card { return m.apps[i] }

// Reset power-cycles every application.
func (m *Multi) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sel = -1
	for _, c := range m.apps {
		c.Reset()
	}
}

// ATR is the answer to reset of the card.
func (m *Multi) ATR() []byte { return m.apps[0].ATR() }

// Transmit answers one command APDU as Card.Transmit does.
func (m *Multi) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := reader.ParseCommand(cmd)
	if err != nil || a.INS != 0xA4 || a.P1 != 0x04 || len(a.Data) == 0 {
		if m.sel < 0 {
			// Nothing selected: the first application answers (6985 and
			// the like for application commands, 6700 for bad lengths).
			return m.apps[0].Transmit(ctx, cmd)
		}
		return m.apps[m.sel].Transmit(ctx, cmd)
	}
	if string(a.Data) == string(ppseName) && a.P2 == 0x00 {
		m.sel = -1
		for _, c := range m.apps {
			c.Reset()
		}
		return append(m.ppse(), 0x90, 0x00), nil
	}
	from := 0
	if a.P2 == 0x02 && m.sel >= 0 {
		from = m.sel + 1
	}
	for i := from; i < len(m.apps); i++ {
		aid := m.apps[i].p.AID
		if len(a.Data) >= 5 && len(a.Data) <= len(aid) && string(aid[:len(a.Data)]) == string(a.Data) {
			for j, c := range m.apps {
				if j != i {
					c.Reset()
				}
			}
			m.sel = i
			// The application sees a plain SELECT of its name.
			sel := slices.Clone(cmd)
			sel[3] = 0x00
			return m.apps[i].Transmit(ctx, sel)
		}
	}
	return []byte{0x6A, 0x82}, nil
}

// ppse is the PPSE FCI listing every application's directory entry.
func (m *Multi) ppse() []byte {
	var entries []byte
	for _, c := range m.apps {
		objs, err := tlv.Parse(c.im.ppseFCI)
		if err != nil {
			continue
		}
		if e, ok := tlv.Find(objs, 0x61); ok {
			entries = append(entries, tlv.Encode(0x61, e.Value)...)
		}
	}
	a5 := tlv.Encode(0xA5, tlv.Encode(0xBF0C, entries))
	return tlv.Encode(0x6F, append(tlv.Encode(0x84, ppseName), a5...))
}
