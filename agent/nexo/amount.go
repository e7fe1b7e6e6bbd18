package nexo

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"posagent/money"
)

// currency is an ISO 4217 alphabetic code (nexo's AmountsReq.Currency is
// alphabetic; money.Parse would also take a numeric one).
func currency(code string) (money.Currency, error) {
	if len(code) != 3 || strings.IndexFunc(code, func(r rune) bool { return (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') }) >= 0 {
		return money.Currency{}, fmt.Errorf("currency %.8q: %w", code, errors.New("not an ISO 4217 alphabetic code"))
	}
	return money.Parse(code)
}

// toMinor turns a nexo amount in major units (10.99, a JSON number) into
// minor units (1099) with the project's one currency package. Trailing
// zeros of the fraction carry no meaning in a JSON number and are dropped
// first ("10.990" EUR is 1099); exponents, signs and more decimals than the
// currency has are refused.
func toMinor(n json.Number, code string) (int64, error) {
	c, err := currency(code)
	if err != nil {
		return 0, err
	}
	s := string(n)
	if whole, frac, ok := strings.Cut(s, "."); ok && strings.TrimRight(frac, "0") != frac {
		if frac = strings.TrimRight(frac, "0"); frac == "" {
			s = whole
		} else {
			s = whole + "." + frac
		}
	}
	return c.ParseAmount(s)
}

// toMajor is the inverse of toMinor: 1099 EUR -> 10.99.
func toMajor(minor int64, code string) json.Number {
	c, err := currency(code)
	if err != nil {
		return json.Number(fmt.Sprint(minor))
	}
	return json.Number(c.FormatAmount(minor))
}
