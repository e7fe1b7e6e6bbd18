package nexo

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// maxMinor bounds an amount (in minor units) posagent accepts from a POS.
const maxMinor = 1e12

// currencyScale is the number of minor-unit digits of an ISO 4217 code
// (EUR 2, JPY 0, KWD 3), from CLDR via golang.org/x/text/currency.
//
// TODO(merge): use the project's currency package (kernel helper) once it
// is in main, so that one table decides the scale everywhere.
func currencyScale(code string) (int, error) {
	u, err := currency.ParseISO(code)
	if err != nil {
		return 0, fmt.Errorf("currency %.8q: %w", code, errors.New("not an ISO 4217 code"))
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale, nil
}

// toMinor turns a nexo amount in major units (10.99) into minor units
// (1099) without going through a float; more fraction digits than the
// currency has, a sign, an exponent or more than maxMinor are refused.
func toMinor(n json.Number, code string) (int64, error) {
	scale, err := currencyScale(code)
	if err != nil {
		return 0, err
	}
	s := string(n)
	if s == "" || strings.ContainsAny(s, "eE+-") {
		return 0, fmt.Errorf("amount %.24q: want a plain positive decimal", s)
	}
	whole, frac, _ := strings.Cut(s, ".")
	frac = strings.TrimRight(frac, "0")
	if len(frac) > scale {
		return 0, fmt.Errorf("amount %.24q: %s has %d decimals", s, code, scale)
	}
	if len(whole) == 0 || len(whole) > 13 {
		return 0, fmt.Errorf("amount %.24q: out of range", s)
	}
	digits := whole + frac + strings.Repeat("0", scale-len(frac))
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v > maxMinor {
		return 0, fmt.Errorf("amount %.24q: out of range", s)
	}
	return v, nil
}

// toMajor is the inverse of toMinor: 1099 EUR -> 10.99.
func toMajor(minor int64, code string) json.Number {
	scale, err := currencyScale(code)
	if err != nil || scale == 0 {
		return json.Number(strconv.FormatInt(minor, 10))
	}
	neg := minor < 0
	if neg {
		minor = -minor
	}
	s := strconv.FormatInt(minor, 10)
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	out := s[:len(s)-scale] + "." + s[len(s)-scale:]
	if neg {
		out = "-" + out
	}
	return json.Number(out)
}
