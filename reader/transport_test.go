package reader

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// script is a fixed command -> response table; an unknown command is a test failure.
type script struct {
	t    *testing.T
	resp map[string]string
	sent []string
}

func (s *script) Transmit(_ context.Context, apdu []byte) ([]byte, error) {
	k := strings.ToUpper(hex.EncodeToString(apdu))
	s.sent = append(s.sent, k)
	r, ok := s.resp[k]
	if !ok {
		s.t.Fatalf("unexpected command %s", k)
	}
	b, _ := hex.DecodeString(r)
	return b, nil
}

func TestExchange(t *testing.T) {
	sel := Select([]byte{0xA0, 0, 0, 0, 3})
	for _, tc := range []struct {
		name     string
		resp     map[string]string
		wantData string
		wantSW   SW
		wantErr  error
		sent     int
	}{
		{"plain", map[string]string{"00A4040005A00000000300": "6F009000"}, "6F00", SWOK, nil, 1},
		{"61xx get response", map[string]string{
			"00A4040005A00000000300": "6104",
			"00C0000004":             "6F0201029000",
		}, "6F020102", SWOK, nil, 2},
		{"61xx chained", map[string]string{
			"00A4040005A00000000300": "AA6102",
			"00C0000002":             "BBCC9000",
		}, "AABBCC", SWOK, nil, 2},
		{"6Cxx re-issue with Le", map[string]string{
			"00A4040005A00000000300": "6C01",
			"00A4040005A00000000301": "6F9000",
		}, "6F", SWOK, nil, 2},
		{"6Cxx twice is a loop", map[string]string{
			"00A4040005A00000000300": "6C01",
			"00A4040005A00000000301": "6C01",
		}, "", 0x6C01, ErrTransportLoop, 2},
		{"error sw returned not err", map[string]string{"00A4040005A00000000300": "6A82"}, "", SWFileNotFound, nil, 1},
		{"61xx forever", map[string]string{
			"00A4040005A00000000300": "6101",
			"00C0000001":             "006101",
		}, "", 0x6101, ErrTransportLoop, 1 + maxGetResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{t: t, resp: tc.resp}
			data, sw, err := Exchange(context.Background(), s, sel)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if sw != tc.wantSW || (err == nil && !bytes.Equal(data, mustHex(tc.wantData))) || len(s.sent) != tc.sent {
				t.Fatalf("data %X sw %04X sent %d; want %s %04X %d", data, uint16(sw), len(s.sent), tc.wantData, uint16(tc.wantSW), tc.sent)
			}
		})
	}
}

func TestShortResponse(t *testing.T) {
	s := &script{t: t, resp: map[string]string{"80CA9F3600": "90"}}
	_, _, err := Exchange(context.Background(), s, GetData(0x9F36))
	var se *ShortResponseError
	if !errors.As(err, &se) || se.Len != 1 {
		t.Fatalf("err = %v", err)
	}
}

func TestCommandBytes(t *testing.T) {
	for _, tc := range []struct {
		c    Command
		want string
	}{
		{ReadRecord(2, 1), "00B2011400"},
		{GetProcessingOptions([]byte{0x83, 0}), "80A80000028300" + "00"},
		{GenerateAC(0x90, []byte{1}), "80AE9000010100"},
		{Command{CLA: 0, INS: 0xB0}, "00B00000"},
	} {
		b, err := tc.c.Bytes()
		if err != nil || strings.ToUpper(hex.EncodeToString(b)) != tc.want {
			t.Errorf("%v: %X, %v; want %s", tc.c, b, err, tc.want)
		}
	}
	if _, err := (Command{Data: make([]byte, 256)}).Bytes(); !errors.Is(err, ErrCommandTooLong) {
		t.Errorf("long command: %v", err)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
