package cardsim

import (
	"context"
	"errors"
	"testing"

	"posagent/emv/tlv"
	"posagent/reader"
)

// fuzzScript encodes a fuzz input: byte 0 picks the preset, byte 1 bit 0
// runs a valid PPSE/SELECT/GPO first (to reach the deep states), then
// commands follow as length-prefixed byte strings.
func fuzzScript(preset byte, warm bool, cmds ...[]byte) []byte {
	b := []byte{preset, 0}
	if warm {
		b[1] = 1
	}
	for _, c := range cmds {
		b = append(b, byte(len(c)))
		b = append(b, c...)
	}
	return b
}

// warmUp selects the card's application and sends a valid GPO.
func warmUp(c *Card) {
	ctx := context.Background()
	sel, _ := reader.Select(c.p.AID).Bytes()
	_, _ = c.Transmit(ctx, sel)
	pdol := c.im.pdol.Build(func(t tlv.Tag) ([]byte, bool) {
		switch t {
		case 0x9F66:
			return ttqOffline, true
		case 0x9F02:
			return []byte{0, 0, 0, 0, 0x10, 0}, true
		case 0x5F2A:
			return []byte{0x09, 0x78}, true
		case 0x9A:
			return []byte{0x26, 0x11, 0x25}, true
		}
		return nil, false
	})
	gpo, _ := reader.GetProcessingOptions(tlv.Encode(0x83, pdol)).Bytes()
	_, _ = c.Transmit(ctx, gpo)
}

// FuzzTransmit sends random APDUs in random order to every preset: the
// card must never panic, must end every answer with a status word, and a
// well-behaved card must answer 9000 only with well-formed TLV data.
func FuzzTransmit(f *testing.F) {
	names := Presets()
	cards := make([]Profile, len(names))
	for i, n := range names {
		p, err := Preset(n)
		if err != nil {
			f.Fatal(err)
		}
		if _, err := New(p); err != nil { // warm the certificate cache
			f.Fatal(err)
		}
		cards[i] = p
	}
	hx := func(b ...byte) []byte { return b }
	cdol1Data := make([]byte, 43)
	for i := range names {
		f.Add(fuzzScript(byte(i), true,
			hx(0x00, 0xB2, 0x01, 0x0C, 0x00), hx(0x00, 0xB2, 0x01, 0x14, 0x00), hx(0x00, 0xB2, 0x02, 0x1C, 0x00),
			append([]byte{0x80, 0xAE, 0x50, 0x00, 43}, append(cdol1Data, 0)...),
			append([]byte{0x80, 0xAE, 0x40, 0x00, 10}, make([]byte, 11)...),
			hx(0x00, 0x88, 0x00, 0x00, 0x04, 1, 2, 3, 4, 0x00),
			hx(0x80, 0xCA, 0x9F, 0x36, 0x00)))
	}
	f.Add(fuzzScript(0, false, []byte("\x00\xA4\x04\x00\x0E2PAY.SYS.DDF01\x00"), hx(0x00, 0xA4, 0x04, 0x02, 0x05, 0xA0, 0, 0, 0, 3, 0)))
	f.Add(fuzzScript(3, false, hx(0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00), hx(0x00, 0xB2, 0x01, 0x0C, 0x03)))
	f.Add(fuzzScript(1, true, hx(0x00, 0xB2, 0x01, 0x0C, 0x01), hx(0x00, 0xC0, 0x00, 0x00, 0x00), hx(0x80)))

	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) < 2 {
			return
		}
		p := cards[int(script[0])%len(cards)]
		c, err := New(p)
		if err != nil {
			t.Fatal(err)
		}
		if script[1]&1 != 0 {
			warmUp(c)
		}
		rest := script[2:]
		for n := 0; len(rest) > 0 && n < 64; n++ {
			l := int(rest[0])
			rest = rest[1:]
			l = min(l, len(rest))
			cmd := rest[:l]
			rest = rest[l:]
			resp, err := c.Transmit(context.Background(), cmd)
			if err != nil {
				if p.Fault == FaultRemoved && errors.Is(err, ErrRemoved) {
					c.Reset()
					continue
				}
				t.Fatalf("%s: % X: %v", p.Name, cmd, err)
			}
			data, sw, err := reader.SplitResponse(resp)
			if err != nil {
				t.Fatalf("%s: % X: answer without a status word", p.Name, cmd)
			}
			if sw.SW1() == 0x61 {
				t.Fatalf("%s: answered 61xx", p.Name)
			}
			if sw != reader.SWOK && len(data) > 0 {
				t.Fatalf("%s: % X: data with SW %04X", p.Name, cmd, uint16(sw))
			}
			if sw == reader.SWOK && p.Fault == FaultNone {
				if _, err := tlv.Parse(data); err != nil || len(data) == 0 {
					t.Fatalf("%s: % X: 9000 with bad TLV: %v", p.Name, cmd, err)
				}
			}
		}
	})
}
