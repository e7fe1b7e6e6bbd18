package frame

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds hostile bytes to the block decoder: no panic, INF within
// the buffer and the IFS, and a decoded block re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"21 00 01 01 21", "21 60 02 AA BB 52", "21 C3 01 02 E1", "21 90 00 B1", "21 00 FF", "21"} {
		f.Add(h(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, crc bool) {
		o := DecodeOptions{NAD: NADDevice, IFS: 64}
		if crc {
			o.EDC = CRC
		}
		b, n, err := Decode(in, o)
		if err != nil {
			return
		}
		if n > len(in) || len(b.INF) > 64 {
			t.Fatalf("n %d of %d, INF %d", n, len(in), len(b.INF))
		}
		enc, err := Encode(b, o.EDC)
		if err != nil || !bytes.Equal(enc, in[:n]) {
			t.Fatalf("re-encode % X (%v), want % X", enc, err, in[:n])
		}
	})
}

// FuzzMessages feeds hostile bytes to every message decoder.
func FuzzMessages(f *testing.F) {
	f.Add(Info{Model: "m", Battery: 50}.Bytes())
	f.Add(CardInfo{Type: 1, UID: []byte{1, 2, 3, 4}}.Bytes())
	f.Add(UI{LEDMS: 1, Text: "hi"}.Bytes())
	f.Add(Poll{TimeoutMS: 5}.Bytes())
	f.Add([]byte{0x83, 0x00, 0x90, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		if i, err := ParseInfo(in); err == nil {
			if _, err := ParseInfo(i.Bytes()); err != nil {
				t.Fatalf("Info %+v does not re-parse: %v", i, err)
			}
		}
		if c, err := ParseCardInfo(in); err == nil {
			if _, err := ParseCardInfo(c.Bytes()); err != nil {
				t.Fatalf("CardInfo does not re-parse: %v", err)
			}
		}
		if u, err := ParseUI(in); err == nil {
			if g, err := ParseUI(u.Bytes()); err != nil || g != u {
				t.Fatalf("UI %+v re-parses as %+v, %v", u, g, err)
			}
		}
		_, _ = ParsePoll(in)
		_, _ = ParseRequest(in)
		_, _ = ParseResponse(in, CmdAPDU)
	})
}

// FuzzScanner feeds a hostile stream in two pieces: no panic, and a valid
// block appended after any garbage is still found.
func FuzzScanner(f *testing.F) {
	f.Add([]byte{0x21, 0x00, 0x05, 0x01}, 2)
	f.Add([]byte{0xFF, 0x21, 0x21, 0x21}, 1)
	f.Fuzz(func(t *testing.T, garbage []byte, cut int) {
		s := Scanner{Options: DecodeOptions{NAD: NADDevice, EDC: CRC}}
		if cut < 0 || cut > len(garbage) {
			cut = len(garbage) / 2
		}
		s.Feed(garbage[:cut])
		for {
			if _, ok, err := s.Next(); !ok && err == nil {
				break
			}
		}
		s.Feed(garbage[cut:])
		for {
			if _, ok, err := s.Next(); !ok && err == nil {
				break
			}
		}
		// A partial block older than CWT is discarded; then a good block is found.
		s.Discard()
		want := I(NADDevice, 1, false, []byte("hello"))
		enc, _ := Encode(want, CRC)
		s.Feed(enc)
		b, ok, err := s.Next()
		if !ok || err != nil || string(b.INF) != "hello" {
			t.Fatalf("block after garbage not found: %v %v %v", b, ok, err)
		}
	})
}
