package frame

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestBlockRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    Block
		edc  EDC
		want string
	}{
		// ISO 7816-3 style examples: LRC is the XOR of NAD PCB LEN INF.
		{"I0 lrc", I(NADHost, 0, false, []byte{0x01}), LRC, "12 00 01 01 12"},
		{"I1 more lrc", I(NADHost, 1, true, []byte{0xAA, 0xBB}), LRC, "12 60 02 AA BB 61"},
		{"R ack", R(NADDevice, 1, ROK), LRC, "21 90 00 B1"},
		{"R edc error", R(NADDevice, 0, REDCError), LRC, "21 81 00 A0"},
		{"S WTX request", S(NADDevice, WTX, false, 2), LRC, "21 C3 01 02 E1"},
		{"S IFS response", S(NADHost, IFS, true, 0xFE), LRC, "12 E1 01 FE 0C"},
		{"S resynch crc", S(NADHost, Resynch, false), CRC, "12 C0 00 " + crcHex("12C000")},
		{"S abort response crc", S(NADDevice, Abort, true), CRC, "21 E2 00 " + crcHex("21E200")},
		{"I empty crc", I(NADDevice, 0, false, nil), CRC, "21 00 00 " + crcHex("210000")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := Encode(tc.b, tc.edc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, h(tc.want)) {
				t.Fatalf("Encode = % X, want %s", enc, tc.want)
			}
			got, n, err := Decode(append(enc, 0x99), DecodeOptions{NAD: tc.b.NAD, EDC: tc.edc})
			if err != nil || n != len(enc) {
				t.Fatalf("Decode: %v (n %d)", err, n)
			}
			if got.String() != tc.b.String() || got.PCB() != tc.b.PCB() {
				t.Fatalf("Decode = %v, want %v", got, tc.b)
			}
			for i := range len(enc) {
				if _, _, err := Decode(enc[:i], DecodeOptions{NAD: tc.b.NAD, EDC: tc.edc}); !errors.Is(err, ErrIncomplete) {
					t.Fatalf("prefix of %d bytes: %v, want ErrIncomplete", i, err)
				}
			}
		})
	}
}

func crcHex(s string) string {
	c := crc16(h(s))
	return hex.EncodeToString([]byte{byte(c >> 8), byte(c)})
}

func TestCRC16Check(t *testing.T) {
	// The catalogued check value of CRC-16/CCITT-FALSE.
	if c := crc16([]byte("123456789")); c != 0x29B1 {
		t.Fatalf("crc16(123456789) = %04X, want 29B1", c)
	}
}

func TestDecodeErrors(t *testing.T) {
	o := DecodeOptions{NAD: NADDevice, EDC: LRC, IFS: 32}
	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"wrong NAD", "12 00 00 12", ErrNAD},
		{"I reserved bits", "21 01 00 20", ErrPCB},
		{"R bit 6", "21 A0 00 81", ErrPCB},
		{"R error 3", "21 83 00 A2", ErrPCB},
		{"S undefined", "21 C4 00 E5", ErrPCB},
		{"I longer than IFS", "21 00 21", ErrLength},
		{"R with INF", "21 80 01 00 A0", ErrLength},
		{"S WTX without parameter", "21 C3 00 E2", ErrLength},
		{"S WTX parameter 0", "21 C3 01 00 E3", ErrLength},
		{"S IFS 255", "21 C1 01 FF 1E", ErrLength},
		{"bad LRC", "21 00 01 05 26", ErrEDC},
		{"LEN 255", "21 00 FF", ErrLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Decode(h(tc.in), o)
			var be *BlockError
			if !errors.Is(err, tc.want) || !errors.As(err, &be) {
				t.Fatalf("Decode(%s) = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}

func TestEncodeRefuses(t *testing.T) {
	for _, b := range []Block{
		I(NADHost, 0, false, make([]byte, 255)),
		{NAD: NADHost, Kind: KindR, RErr: 3},
		S(NADHost, WTX, false),
		S(NADHost, Abort, false, 1),
	} {
		if _, err := Encode(b, LRC); err == nil {
			t.Errorf("Encode(%v) succeeded", b)
		}
	}
}

func TestSplit(t *testing.T) {
	msg := bytes.Repeat([]byte{7}, 300)
	parts := Split(msg, 128)
	if len(parts) != 3 || len(parts[0]) != 128 || len(parts[2]) != 44 {
		t.Fatalf("Split: %d parts", len(parts))
	}
	if p := Split(nil, 10); len(p) != 1 || len(p[0]) != 0 {
		t.Fatalf("Split(nil) = %v", p)
	}
}

func TestMessages(t *testing.T) {
	info := Info{Model: "donglesim", Firmware: "1.2.3", Serial: "DS0001", Battery: 12, BatteryLow: true, MaxAPDU: 261}
	got, err := ParseInfo(info.Bytes())
	if err != nil || got != info {
		t.Fatalf("ParseInfo = %+v, %v", got, err)
	}
	ci := CardInfo{Type: CardTypeA, UID: h("04A1B2C3D4E5F6"), ATS: h("0578807002")}
	gc, err := ParseCardInfo(ci.Bytes())
	if err != nil || !bytes.Equal(gc.UID, ci.UID) || !bytes.Equal(gc.ATS, ci.ATS) || gc.Type != ci.Type {
		t.Fatalf("ParseCardInfo = %+v, %v", gc, err)
	}
	ui := UI{LED: LEDGreen, LEDMS: 500, BeepMS: 100, Text: "12.34 EUR", SetText: true}
	gu, err := ParseUI(ui.Bytes())
	if err != nil || gu != ui {
		t.Fatalf("ParseUI = %+v, %v", gu, err)
	}
	p, err := ParsePoll(Poll{TimeoutMS: 70000}.Bytes())
	if err != nil || p.TimeoutMS != 0xFFFF {
		t.Fatalf("ParsePoll = %+v, %v", p, err)
	}
	r, err := ParseResponse(Response{Cmd: CmdAPDU, Status: StatusOK, Data: h("9000")}.Bytes(), CmdAPDU)
	if err != nil || r.Status != StatusOK || !bytes.Equal(r.Data, h("9000")) {
		t.Fatalf("ParseResponse = %+v, %v", r, err)
	}
	q, err := ParseRequest(Request{Cmd: CmdRelease}.Bytes())
	if err != nil || q.Cmd != CmdRelease || len(q.Data) != 0 {
		t.Fatalf("ParseRequest = %+v, %v", q, err)
	}
}

func TestMessageErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		parse func([]byte) error
		in    string
	}{
		{"info no model", func(b []byte) error { _, err := ParseInfo(b); return err }, "DF040150"},
		{"info no battery", func(b []byte) error { _, err := ParseInfo(b); return err }, "DF010141"},
		{"info battery 101", func(b []byte) error { _, err := ParseInfo(b); return err }, "DF010141 DF040165"},
		{"info model not printable", func(b []byte) error { _, err := ParseInfo(b); return err }, "DF010107 DF040150"},
		{"info bad tlv", func(b []byte) error { _, err := ParseInfo(b); return err }, "DF0105"},
		{"card uid 5 bytes", func(b []byte) error { _, err := ParseCardInfo(b); return err }, "DF100101 DF11050102030405"},
		{"card type 3", func(b []byte) error { _, err := ParseCardInfo(b); return err }, "DF100103 DF110401020304"},
		{"ui colour 9", func(b []byte) error { _, err := ParseUI(b); return err }, "DF200309 0064"},
		{"ui text 33", func(b []byte) error { _, err := ParseUI(b); return err }, "DF2221" + strings.Repeat("41", 33)},
		{"poll timeout 1 byte", func(b []byte) error { _, err := ParsePoll(b); return err }, "DF070101"},
		{"response short", func(b []byte) error { _, err := ParseResponse(b, CmdAPDU); return err }, "83"},
		{"response other cmd", func(b []byte) error { _, err := ParseResponse(b, CmdAPDU); return err }, "8100"},
		{"request is a response", func(b []byte) error { _, err := ParseRequest(b); return err }, "8300"},
		{"request empty", func(b []byte) error { _, err := ParseRequest(b); return err }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var me *MessageError
			if err := tc.parse(h(tc.in)); !errors.Is(err, ErrMessage) || !errors.As(err, &me) {
				t.Fatalf("got %v, want a *MessageError", err)
			}
		})
	}
}

func TestScannerResync(t *testing.T) {
	good, _ := Encode(I(NADDevice, 0, false, []byte{1, 2, 3}), LRC)
	bad := append([]byte(nil), good...)
	bad[4] ^= 0x10 // damaged INF: EDC mismatch
	s := Scanner{Options: DecodeOptions{NAD: NADDevice, EDC: LRC}}
	s.Feed([]byte{0x00, 0xFF, 0x21, 0x77}) // noise, including a NAD with a bad PCB
	s.Feed(bad)
	s.Feed(good)
	var blocks, edc int
	for {
		b, ok, err := s.Next()
		if err != nil {
			if !errors.Is(err, ErrEDC) {
				t.Fatalf("err %v", err)
			}
			edc++
			continue
		}
		if !ok {
			break
		}
		if !bytes.Equal(b.INF, []byte{1, 2, 3}) {
			t.Fatalf("block %v", b)
		}
		blocks++
	}
	// The damaged block is followed by a good one: nothing to report.
	if blocks != 1 || edc != 0 || s.Garbage < 4 || s.Pending() != 0 {
		t.Fatalf("blocks %d, edc errors %d, garbage %d, pending %d", blocks, edc, s.Garbage, s.Pending())
	}
	// A damaged block alone is reported once.
	s.Feed(bad)
	if _, ok, err := s.Next(); ok || !errors.Is(err, ErrEDC) {
		t.Fatalf("damaged block alone: ok %v err %v", ok, err)
	}
	if _, ok, err := s.Next(); ok || err != nil {
		t.Fatalf("reported twice: ok %v err %v", ok, err)
	}
	// Noise that looks like a long block (NAD, I-block PCB, LEN 200) in
	// front of a good block: the good block is found without waiting for
	// 200 bytes.
	s.Feed([]byte{0x21, 0x00, 200})
	s.Feed(good)
	if b, ok, err := s.Next(); !ok || err != nil || !bytes.Equal(b.INF, []byte{1, 2, 3}) {
		t.Fatalf("block behind a false start: %v %v %v", b, ok, err)
	}
}

// BenchmarkCodec is one APDU exchange's worth of block work on one side:
// encode a 26-byte command block, decode a 73-byte response block (CRC).
func BenchmarkCodec(b *testing.B) {
	cmd := I(NADHost, 0, false, make([]byte, 21))
	resp, _ := Encode(I(NADDevice, 0, false, make([]byte, 68)), CRC)
	o := DecodeOptions{NAD: NADDevice, EDC: CRC}
	for b.Loop() {
		if _, err := Encode(cmd, CRC); err != nil {
			b.Fatal(err)
		}
		if _, _, err := Decode(resp, o); err != nil {
			b.Fatal(err)
		}
	}
}
