package cardsim

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"posagent/emv/oda"
	"posagent/emv/tlv"
	"posagent/reader"
)

// TestHostilePresets runs each hostile card as far as a terminal would and
// checks it gives the broken answer it promises, at the step it promises.
func TestHostilePresets(t *testing.T) {
	pdolData := func(m *terminal) []byte {
		pdol, err := tlv.ParseDOL(m.icc[0x9F38])
		if err != nil {
			m.t.Fatal(err)
		}
		return pdol.Build(m.get)
	}
	gpoCmd := func(m *terminal) reader.Command {
		m.pdol = pdolData(m)
		return reader.GetProcessingOptions(tlv.Encode(0x83, m.pdol))
	}
	cases := []struct {
		preset string
		check  func(t *testing.T, m *terminal)
	}{
		{"blocked", func(t *testing.T, m *terminal) {
			m.mustOK(reader.Select(ppseName))
			if _, sw := m.send(reader.Select(m.card.p.AID)); sw != reader.SWAppBlocked {
				t.Errorf("SELECT: %04X, want 6A81", uint16(sw))
			}
		}},
		{"last-record-6985", func(t *testing.T, m *terminal) {
			m.selectApp()
			m.gpo()
			afl := m.icc[0x94]
			n := len(afl)
			if _, sw := m.send(reader.ReadRecord(afl[0]>>3, afl[1])); sw != reader.SWOK {
				t.Errorf("first record: %04X, want 9000", uint16(sw))
			}
			if _, sw := m.send(reader.ReadRecord(afl[n-4]>>3, afl[n-2])); sw != reader.SWConditionsNotSatisf {
				t.Errorf("last record: %04X, want 6985", uint16(sw))
			}
		}},
		{"gpo-6985", func(t *testing.T, m *terminal) {
			m.selectApp()
			if _, sw := m.send(gpoCmd(m)); sw != reader.SWConditionsNotSatisf {
				t.Errorf("GPO: %04X, want 6985", uint16(sw))
			}
		}},
		{"wrong-answer", func(t *testing.T, m *terminal) {
			m.selectApp()
			data := m.mustOK(gpoCmd(m))
			objs, err := tlv.Parse(data)
			if err != nil || len(objs) != 1 || objs[0].Tag != 0x6F {
				t.Errorf("GPO answer: %v, want an FCI template 6F", err)
			}
		}},
		{"bad-tlv", func(t *testing.T, m *terminal) {
			m.selectApp()
			data := m.mustOK(gpoCmd(m))
			var se *tlv.SyntaxError
			if _, err := tlv.Parse(data); !errors.As(err, &se) {
				t.Errorf("GPO answer parses (%v), want a *tlv.SyntaxError", err)
			}
		}},
		{"bad-length", func(t *testing.T, m *terminal) {
			m.selectApp()
			m.gpo()
			data := m.mustOK(reader.ReadRecord(1, 1))
			var se *tlv.SyntaxError
			if _, err := tlv.Parse(data); !errors.As(err, &se) {
				t.Errorf("record parses (%v), want a *tlv.SyntaxError", err)
			}
		}},
		{"missing-pan", func(t *testing.T, m *terminal) {
			m.selectApp()
			m.gpo()
			m.readRecords()
			for _, tag := range []tlv.Tag{0x5A, 0x57, 0x9F6B} {
				if _, ok := m.icc[tag]; ok {
					t.Errorf("card gave %s", tag)
				}
			}
			if _, ok := m.icc[0x5F24]; !ok {
				t.Errorf("the rest of the record is missing too")
			}
		}},
		{"record-not-found", func(t *testing.T, m *terminal) {
			m.selectApp()
			m.gpo()
			afl := m.icc[0x94]
			last := afl[len(afl)-4:]
			for rec := last[1]; rec < last[2]; rec++ {
				m.mustOK(reader.ReadRecord(last[0]>>3, rec))
			}
			if _, sw := m.send(reader.ReadRecord(last[0]>>3, last[2])); sw != reader.SWRecordNotFound {
				t.Errorf("last AFL record: %04X, want 6A83", uint16(sw))
			}
		}},
		{"unexpected-sw", func(t *testing.T, m *terminal) {
			m.selectApp()
			m.gpo()
			m.mustOK(reader.ReadRecord(1, 1))
			if _, sw := m.send(reader.ReadRecord(2, 1)); sw != 0x6F00 {
				t.Errorf("READ RECORD SFI 2: %04X, want 6F00", uint16(sw))
			}
		}},
		{"bad-signature", func(t *testing.T, m *terminal) {
			m.selectApp()
			m.gpo()
			m.readRecords()
			if got := m.icc[0x9F27]; !bytes.Equal(got, []byte{cidTC}) {
				t.Fatalf("CID % X, want TC", got)
			}
			key, err := m.iccKey()
			if err != nil {
				t.Fatalf("certificates must be good: %v", err)
			}
			_, err = oda.VerifyFDDA(*key, m.icc[0x9F4B], m.values[0x9F37], m.values[0x9F02], m.values[0x5F2A], m.icc[0x9F69])
			if !errors.Is(err, oda.ErrHash) && !errors.Is(err, oda.ErrTrailer) && !errors.Is(err, oda.ErrHeader) {
				t.Errorf("fDDA: %v, want a failed check", err)
			}
			if !bytes.Equal(m.icc[0x9F6C], []byte{0, 0}) {
				t.Errorf("CTQ % X: must not ask to go online when fDDA fails", m.icc[0x9F6C])
			}
		}},
		{"bad-signature-cda", func(t *testing.T, m *terminal) {
			m.selectApp()
			m.gpo()
			m.readRecords()
			objs, sw := m.generateAC(0x50, 0x8C)
			if sw != reader.SWOK {
				t.Fatalf("GENERATE AC: %04X", uint16(sw))
			}
			resp := objs[0].Children
			key, err := m.iccKey()
			if err != nil {
				t.Fatalf("certificates must be good: %v", err)
			}
			var rest []byte
			for _, o := range resp {
				if o.Tag != 0x9F4B {
					rest = tlv.Append(rest, o.Tag, o.Value)
				}
			}
			if _, _, err := oda.VerifyCDA(*key, tlv.Value(resp, 0x9F4B), m.values[0x9F37], tlv.Value(resp, 0x9F27)[0], m.pdol, m.cdol, rest); err == nil {
				t.Errorf("CDA verifies")
			}
		}},
		{"expired-cert", func(t *testing.T, m *terminal) {
			m.selectApp()
			m.gpo()
			m.readRecords()
			if _, ok := m.icc[0x9F4B]; !ok {
				t.Fatal("no SDAD")
			}
			if _, err := m.iccKey(); !errors.Is(err, oda.ErrExpired) {
				t.Errorf("ICC key recovery: %v, want ErrExpired", err)
			}
		}},
		{"expired-card", func(t *testing.T, m *terminal) {
			m.selectApp()
			m.gpo()
			if got := m.icc[0x9F27]; !bytes.Equal(got, []byte{cidAAC}) {
				t.Errorf("CID % X, want AAC", got)
			}
			if _, ok := m.icc[0x9F4B]; ok {
				t.Errorf("an AAC signed for fDDA")
			}
		}},
		{"removed", func(t *testing.T, m *terminal) {
			m.selectApp()
			m.gpo()
			cmd, _ := reader.ReadRecord(1, 1).Bytes()
			for range 2 {
				if _, err := m.card.Transmit(context.Background(), cmd); !errors.Is(err, ErrRemoved) {
					t.Fatalf("after GPO: %v, want ErrRemoved", err)
				}
			}
			m.card.Reset()
			again := newTerminal(t, m.card, 1000, ttqOffline)
			again.selectApp()
			again.gpo()
			again.readRecords()
			if got := again.icc[0x9F27]; !bytes.Equal(got, []byte{cidTC}) {
				t.Errorf("presented again: CID % X, want TC", got)
			}
		}},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		seen[tc.preset] = true
		t.Run(tc.preset, func(t *testing.T) {
			c := newCard(t, tc.preset)
			tc.check(t, newTerminal(t, c, 1000, ttqOffline))
		})
	}
	for _, name := range Presets() {
		p, _ := Preset(name)
		if (p.Fault != FaultNone || name == "expired-card") && !seen[name] {
			t.Errorf("hostile preset %q has no test", name)
		}
	}
}
