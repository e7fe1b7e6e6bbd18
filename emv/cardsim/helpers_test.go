package cardsim

import (
	"context"
	"testing"
	"time"

	"posagent/emv/capk"
	"posagent/emv/oda"
	"posagent/emv/tlv"
	"posagent/reader"
)

// txnDate is the transaction date the tests use (the card data is valid
// from 2024-01-01 to 2030-12-31).
var txnDate = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// TTQs of the tests: qVSDC, online PIN, signature, CDCVM supported.
var (
	ttqOffline     = []byte{0x36, 0x00, 0x40, 0x00} // reader may approve offline
	ttqCVMRequired = []byte{0x36, 0x40, 0x40, 0x00} // amount above the reader CVM limit
	ttqOnline      = []byte{0x36, 0x80, 0x40, 0x00} // online cryptogram required
	ttqSigOnly     = []byte{0x32, 0x40, 0x00, 0x00} // CVM required, signature only
	ttqODAOnline   = []byte{0x37, 0x80, 0x40, 0x00} // online, ODA for online supported
	ttqOfflineOnly = []byte{0x2A, 0x00, 0x00, 0x00} // offline-only reader
	ttqNoQVSDC     = []byte{0x80, 0x00, 0x00, 0x00} // MSD only
)

// terminal plays the terminal side against a card with plain commands,
// checking nothing but transport; tests assert on what it collects.
type terminal struct {
	t      testing.TB
	card   *Card
	values map[tlv.Tag][]byte
	icc    map[tlv.Tag][]byte
	static []byte
	pdol   []byte // PDOL data sent
	cdol   []byte // CDOL data sent
}

func newTerminal(t testing.TB, card *Card, amount int64, ttq []byte) *terminal {
	t.Helper()
	return &terminal{t: t, card: card, icc: map[tlv.Tag][]byte{}, values: map[tlv.Tag][]byte{
		0x9F66: ttq,
		0x9F02: tlv.EncodeN(uint64(amount), 6),
		0x9F03: make([]byte, 6),
		0x9F1A: tlv.EncodeN(250, 2),
		0x95:   make([]byte, 5),
		0x5F2A: tlv.EncodeN(978, 2),
		0x9A:   []byte{0x26, 0x11, 0x25},
		0x9C:   {0x00},
		0x9F37: {0xDE, 0xAD, 0xBE, 0xEF},
		0x9F35: {0x22},
		0x9F45: {0x00, 0x00},
		0x9F4C: make([]byte, 8),
		0x9F34: {0x3F, 0x00, 0x00},
		0x8A:   []byte("00"),
	}}
}

func (m *terminal) get(t tlv.Tag) ([]byte, bool) {
	v, ok := m.values[t]
	return v, ok
}

// send transmits cmd and splits the answer; a transport error fails the test.
func (m *terminal) send(cmd reader.Command) ([]byte, reader.SW) {
	m.t.Helper()
	b, err := cmd.Bytes()
	if err != nil {
		m.t.Fatalf("encoding %v: %v", cmd, err)
	}
	resp, err := m.card.Transmit(context.Background(), b)
	if err != nil {
		m.t.Fatalf("%v: %v", cmd, err)
	}
	data, sw, err := reader.SplitResponse(resp)
	if err != nil {
		m.t.Fatalf("%v: %v", cmd, err)
	}
	return data, sw
}

// mustOK sends cmd and requires 9000.
func (m *terminal) mustOK(cmd reader.Command) []byte {
	m.t.Helper()
	data, sw := m.send(cmd)
	if sw != reader.SWOK {
		m.t.Fatalf("%v: SW %04X", cmd, uint16(sw))
	}
	return data
}

// parse decodes an answer and stores its primitive objects.
func (m *terminal) parse(data []byte) []tlv.TLV {
	m.t.Helper()
	objs, err := tlv.Parse(data)
	if err != nil {
		m.t.Fatalf("answer does not parse: %v", err)
	}
	tlv.Walk(objs, func(o tlv.TLV) {
		if _, ok := m.icc[o.Tag]; !ok {
			m.icc[o.Tag] = o.Value
		}
	})
	return objs
}

// selectApp selects PPSE then the card's application, returning the FCI.
func (m *terminal) selectApp() []tlv.TLV {
	m.t.Helper()
	m.mustOK(reader.Select(ppseName))
	return m.parse(m.mustOK(reader.Select(m.card.p.AID)))
}

// gpo sends GET PROCESSING OPTIONS with the PDOL data.
func (m *terminal) gpo() []tlv.TLV {
	m.t.Helper()
	pdol, err := tlv.ParseDOL(m.icc[0x9F38])
	if err != nil {
		m.t.Fatal(err)
	}
	m.pdol = pdol.Build(m.get)
	data := m.mustOK(reader.GetProcessingOptions(tlv.Encode(0x83, m.pdol)))
	objs := m.parse(data)
	if len(objs) == 1 && objs[0].Tag == 0x80 && len(objs[0].Value) >= 2 {
		m.icc[0x82], m.icc[0x94] = objs[0].Value[:2], objs[0].Value[2:]
	}
	return objs
}

// readRecords reads the AFL and collects the static data for ODA.
func (m *terminal) readRecords() {
	m.t.Helper()
	afl := m.icc[0x94]
	for i := 0; i+4 <= len(afl); i += 4 {
		sfi := afl[i] >> 3
		for rec := afl[i+1]; rec <= afl[i+2]; rec++ {
			objs := m.parse(m.mustOK(reader.ReadRecord(sfi, rec)))
			if rec < afl[i+1]+afl[i+3] {
				m.static = append(m.static, objs[0].Value...)
			}
		}
	}
	if string(m.icc[0x9F4A]) == "\x82" {
		m.static = append(m.static, m.icc[0x82]...)
	}
}

// generateAC sends GENERATE AC with the CDOL data.
func (m *terminal) generateAC(p1 byte, cdolTag tlv.Tag) ([]tlv.TLV, reader.SW) {
	m.t.Helper()
	dol, err := tlv.ParseDOL(m.icc[cdolTag])
	if err != nil {
		m.t.Fatal(err)
	}
	data := dol.Build(m.get)
	m.cdol = append(m.cdol, data...)
	resp, sw := m.send(reader.GenerateAC(p1, data))
	if sw != reader.SWOK {
		return nil, sw
	}
	objs, err := tlv.Parse(resp)
	if err != nil {
		m.t.Fatalf("GENERATE AC answer: %v", err)
	}
	return objs, sw
}

// iccKey recovers the ICC public key from what the card gave, trusting
// the test CAs and the card's own CA.
func (m *terminal) iccKey() (*oda.PublicKey, error) {
	m.t.Helper()
	ca, err := CA(m.card.p)
	if err != nil {
		m.t.Fatal(err)
	}
	keys := capk.Default()
	keys.Add(ca.CAPK())
	idx := m.icc[0x8F]
	if len(idx) != 1 {
		m.t.Fatalf("8F = % X", idx)
	}
	cands := keys.Candidates(ca.RID[:], idx[0], true)
	pan := m.card.p.PAN
	ik, err := oda.RecoverIssuerKey(cands, m.icc[0x90], m.icc[0x92], m.icc[0x9F32], pan, txnDate, nil)
	if err != nil {
		return nil, err
	}
	return oda.RecoverICCKey(ik.PublicKey, m.icc[0x9F46], m.icc[0x9F48], m.icc[0x9F47], m.static, pan, txnDate)
}

func newCard(t testing.TB, name string) *Card {
	t.Helper()
	p, err := Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(p)
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	return c
}
