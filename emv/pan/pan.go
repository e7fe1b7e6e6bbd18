// Package pan holds the card data types that must never leak: the primary
// account number and track 2 equivalent data. Their String methods mask them
// (first 6 + last 4 digits), so a PAN that reaches a log or an error by
// accident is still masked. Raw digits are available only through Digits.
package pan

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// PAN is a primary account number. The zero value is "no PAN".
type PAN struct{ digits string }

// Errors for malformed card data.
var (
	ErrNotDigits = errors.New("pan: not a decimal digit string")
	ErrLength    = errors.New("pan: length outside 8..19 digits")
)

// Parse accepts 8 to 19 decimal digits.
func Parse(s string) (PAN, error) {
	if len(s) < 8 || len(s) > 19 {
		return PAN{}, ErrLength
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return PAN{}, ErrNotDigits
		}
	}
	return PAN{digits: s}, nil
}

// FromBCD decodes tag 5A (compressed numeric, trailing F padding).
func FromBCD(b []byte) (PAN, error) {
	s, err := DecodeCN(b)
	if err != nil {
		return PAN{}, err
	}
	return Parse(s)
}

// DecodeCN decodes compressed numeric (format cn): digits, then F padding
// only at the end.
func DecodeCN(b []byte) (string, error) {
	var sb strings.Builder
	pad := false
	for _, x := range b {
		for _, n := range [2]byte{x >> 4, x & 0x0F} {
			switch {
			case n == 0x0F:
				pad = true
			case pad || n > 9:
				return "", ErrNotDigits
			default:
				sb.WriteByte('0' + n)
			}
		}
	}
	return sb.String(), nil
}

// IsZero reports whether no PAN is set.
func (p PAN) IsZero() bool { return p.digits == "" }

// Digits returns the full PAN. Only code that must send or encrypt the PAN
// calls it.
func (p PAN) Digits() string { return p.digits }

// Len is the number of digits.
func (p PAN) Len() int { return len(p.digits) }

// Last4 returns the last four digits.
func (p PAN) Last4() string {
	if len(p.digits) < 4 {
		return ""
	}
	return p.digits[len(p.digits)-4:]
}

// String masks the PAN: first 6 and last 4 digits, the rest '*'.
func (p PAN) String() string { return Mask(p.digits) }

// GoString masks too, so %#v does not leak.
func (p PAN) GoString() string { return "pan.PAN(" + Mask(p.digits) + ")" }

// Format masks for every verb.
func (p PAN) Format(f fmt.State, verb rune) { fmt.Fprint(f, Mask(p.digits)) }

// MarshalText masks: a PAN serialised to JSON is masked.
func (p PAN) MarshalText() ([]byte, error) { return []byte(Mask(p.digits)), nil }

// LogValue masks for slog.
func (p PAN) LogValue() slog.Value { return slog.StringValue(Mask(p.digits)) }

// Luhn reports whether the check digit is right.
func (p PAN) Luhn() bool {
	sum, double := 0, false
	for i := len(p.digits) - 1; i >= 0; i-- {
		d := int(p.digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return len(p.digits) > 0 && sum%10 == 0
}

// Keep is the masking rule, the only one in the tree: of a PAN (or any
// digit string that may be one) of n digits, how many leading and trailing
// digits may be shown. 13 digits and more show the first 6 and last 4 (at
// least 3 stay hidden); 5 to 12 show only the last 4, so that a short
// number is never shown almost whole; 4 and fewer show nothing.
func Keep(n int) (front, back int) {
	switch {
	case n >= 13:
		return 6, 4
	case n >= 5:
		return 0, 4
	}
	return 0, 0
}

// Mask applies Keep to a digit string: the kept digits, stars in between.
func Mask(s string) string {
	front, back := Keep(len(s))
	if len(s) == 0 {
		return ""
	}
	return s[:front] + strings.Repeat("*", len(s)-front-back) + s[len(s)-back:]
}
