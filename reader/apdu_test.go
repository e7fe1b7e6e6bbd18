package reader

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		name, hex string
		want      Command
		ne        int
	}{
		{"case 1", "00A40400", Command{CLA: 0, INS: 0xA4, P1: 4}, 0},
		{"case 2S", "00B2010C00", Command{INS: 0xB2, P1: 1, P2: 0x0C, HasLe: true}, 256},
		{"case 2S Le 1C", "00B2010C1C", Command{INS: 0xB2, P1: 1, P2: 0x0C, Le: 0x1C, HasLe: true}, 0x1C},
		{"case 3S", "80A80000028300", Command{CLA: 0x80, INS: 0xA8}, 0},
		{"case 4S", "00A404000E325041592E5359532E444446303100", Command{INS: 0xA4, P1: 4, Data: []byte("2PAY.SYS.DDF01"), HasLe: true}, 256},
		{"case 2E", "00B0000000FFFF", Command{INS: 0xB0, Le: 0xFFFF, HasLe: true, Extended: true}, 0xFFFF},
		{"case 2E Le 0000", "00B0000000000000"[:14], Command{INS: 0xB0, HasLe: true, Extended: true}, 65536},
		{"case 3E", "80AE80000000020102", Command{CLA: 0x80, INS: 0xAE, P1: 0x80, Data: []byte{1, 2}, Extended: true}, 0},
		{"case 4E", "80AE800000000201020000", Command{CLA: 0x80, INS: 0xAE, P1: 0x80, Data: []byte{1, 2}, HasLe: true, Extended: true}, 65536},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _ := hex.DecodeString(c.hex)
			got, err := ParseCommand(b)
			if err != nil {
				t.Fatal(err)
			}
			if c.name == "case 3S" {
				c.want.Data = []byte{0x83, 0x00}
			}
			if got.CLA != c.want.CLA || got.INS != c.want.INS || got.P1 != c.want.P1 || got.P2 != c.want.P2 ||
				!bytes.Equal(got.Data, c.want.Data) || got.Le != c.want.Le || got.HasLe != c.want.HasLe || got.Extended != c.want.Extended {
				t.Fatalf("ParseCommand(%s) = %+v, want %+v", c.hex, got, c.want)
			}
			if got.Ne() != c.ne {
				t.Errorf("Ne = %d, want %d", got.Ne(), c.ne)
			}
			back, err := got.Bytes()
			if err != nil || !bytes.Equal(back, b) {
				t.Errorf("Bytes = %X, %v; want %X", back, err, b)
			}
		})
	}
	for _, h := range []string{"", "00", "00A404", "00A40400020102FF00", "00A404000000", "00A4040000000301", "00A4040003010203FFFF", "80AE800000000201"} {
		b, _ := hex.DecodeString(h)
		if c, err := ParseCommand(b); !errors.Is(err, ErrMalformedCommand) {
			t.Errorf("ParseCommand(%s) = %+v, %v; want ErrMalformedCommand", h, c, err)
		}
	}
}

// FuzzParseCommand: no panic, and whatever parses encodes back to the same
// bytes.
func FuzzParseCommand(f *testing.F) {
	for _, h := range []string{"00A40400", "00B2010C00", "80A8000002830000", "00B0000000FFFF", "80AE800000000201020000", "00A4040000"} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			return
		}
		back, err := c.Bytes()
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("%X parsed as %+v encodes to %X, %v", b, c, back, err)
		}
	})
}
