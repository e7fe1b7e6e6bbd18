package pan

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Track2 is track 2 equivalent data (tag 57, or 9F6B for Mastercard
// mag-stripe mode). Its String never shows the discretionary data.
type Track2 struct {
	PAN         PAN
	Expiry      string // YYMM as on the card, not validated
	ServiceCode string
	raw         string
}

// ErrTrack2 means the track 2 data has no separator or a bad PAN.
var ErrTrack2 = errors.New("pan: malformed track 2 equivalent data")

// ParseTrack2 decodes tag 57 / 9F6B: PAN, separator D, YYMM, service code,
// discretionary data, F padding.
func ParseTrack2(b []byte) (Track2, error) {
	s := strings.ToUpper(hex.EncodeToString(b))
	s = strings.TrimRight(s, "F")
	i := strings.IndexByte(s, 'D')
	if i < 0 {
		return Track2{}, ErrTrack2
	}
	p, err := Parse(s[:i])
	if err != nil {
		return Track2{}, ErrTrack2
	}
	t := Track2{PAN: p, raw: s}
	rest := s[i+1:]
	if len(rest) >= 4 {
		t.Expiry = rest[:4]
	}
	if len(rest) >= 7 {
		t.ServiceCode = rest[4:7]
	}
	return t, nil
}

// Raw returns the full track data (digits, 'D' separator). Only code that
// must send or encrypt it calls it.
func (t Track2) Raw() string { return t.raw }

// String masks: PAN masked, expiry and the rest hidden.
func (t Track2) String() string {
	if t.raw == "" {
		return ""
	}
	return t.PAN.String() + "D****"
}

// MarshalText masks.
func (t Track2) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// GoString masks %#v.
func (t Track2) GoString() string { return "pan.Track2(" + t.String() + ")" }

// Format masks for every verb.
func (t Track2) Format(f fmt.State, verb rune) { fmt.Fprint(f, t.String()) }

// LogValue masks for slog.
func (t Track2) LogValue() slog.Value { return slog.StringValue(t.String()) }
