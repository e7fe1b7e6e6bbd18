// Package money converts between amounts as people write them ("12.34") and
// amounts as payment messages carry them (minor units, 1234), per ISO 4217
// currency. Alphabetic codes and rounding come from golang.org/x/text/currency;
// numeric codes, which x/text does not carry, from the one ISO 4217 table in
// this package. JPY has no decimals, KWD three, EUR two.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// Currency is one ISO 4217 currency. The zero value is not a currency.
type Currency struct {
	alpha   string
	numeric uint16
	exp     int
}

// Errors the parsers return; each wraps one of them.
var (
	ErrUnknownCurrency = errors.New("money: unknown currency")
	ErrBadAmount       = errors.New("money: bad amount")
)

// MaxDigits is the largest number of digits an amount may have in minor
// units: EMV amounts are n12 (9F02), as is ISO 8583 field 4.
const MaxDigits = 12

// Numeric returns the currency with ISO 4217 numeric code n (978 = EUR).
func Numeric(n uint16) (Currency, error) {
	a, ok := numericCodes[n]
	if !ok {
		return Currency{}, fmt.Errorf("%w: numeric code %03d", ErrUnknownCurrency, n)
	}
	return Currency{alpha: a, numeric: n, exp: minorUnits(a)}, nil
}

// Parse returns the currency named by s: an alphabetic code ("EUR", any case)
// or a numeric one ("978").
func Parse(s string) (Currency, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" && len(s) <= 3 {
		n, _ := strconv.Atoi(s)
		return Numeric(uint16(n))
	}
	a := strings.ToUpper(s)
	for n, v := range numericCodes {
		if v == a {
			return Currency{alpha: a, numeric: n, exp: minorUnits(a)}, nil
		}
	}
	return Currency{}, fmt.Errorf("%w: %q", ErrUnknownCurrency, s)
}

// minorUnits is the ISO 4217 exponent: x/text's standard rounding, except
// where ISO 4217 says otherwise (isoMinorUnits).
func minorUnits(alpha string) int {
	if e, ok := isoMinorUnits[alpha]; ok {
		return e
	}
	u, err := currency.ParseISO(alpha)
	if err != nil {
		return 2 // not reached for codes of numericCodes: TestMinorUnits checks
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale
}

// Code is the alphabetic code ("EUR").
func (c Currency) Code() string { return c.alpha }

// NumericCode is the numeric code (978).
func (c Currency) NumericCode() uint16 { return c.numeric }

// Exponent is the number of minor-unit digits (EUR 2, JPY 0, KWD 3): EMV tag
// 5F36.
func (c Currency) Exponent() int { return c.exp }

// String is the alphabetic code.
func (c Currency) String() string { return c.alpha }

// ParseAmount reads major-unit text ("12.34", "5", "0.500") as minor units.
// It refuses signs, spaces, more decimals than the currency has, and more
// than MaxDigits digits.
func (c Currency) ParseAmount(s string) (int64, error) {
	if c.alpha == "" {
		return 0, ErrUnknownCurrency
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, fmt.Errorf("%w: %q is not an amount like %s", ErrBadAmount, s, c.FormatAmount(1234))
	}
	if len(frac) > c.exp {
		return 0, fmt.Errorf("%w: %q has more than %d decimals for %s", ErrBadAmount, s, c.exp, c.alpha)
	}
	digits := strings.TrimLeft(whole+frac+strings.Repeat("0", c.exp-len(frac)), "0")
	if len(digits) > MaxDigits {
		return 0, fmt.Errorf("%w: %q is too large (%d digits at most in minor units)", ErrBadAmount, s, MaxDigits)
	}
	if digits == "" {
		return 0, nil
	}
	return strconv.ParseInt(digits, 10, 64)
}

// FormatAmount writes minor units as major-unit text with the currency's
// decimals: 1234 is "12.34" in EUR, "1234" in JPY, "1.234" in KWD.
func (c Currency) FormatAmount(minor int64) string {
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign, u = "-", uint64(-minor)
	}
	s := strconv.FormatUint(u, 10)
	if c.exp == 0 {
		return sign + s
	}
	if len(s) <= c.exp {
		s = strings.Repeat("0", c.exp-len(s)+1) + s
	}
	return sign + s[:len(s)-c.exp] + "." + s[len(s)-c.exp:]
}

// Format writes minor units with the alphabetic code: "12.34 EUR".
func (c Currency) Format(minor int64) string { return c.FormatAmount(minor) + " " + c.alpha }
