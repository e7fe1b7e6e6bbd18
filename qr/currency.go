package qr

import (
	"fmt"
	"strconv"
	"strings"

	"posagent/money"
)

// CurrencyAlpha returns the alphabetic code for an ISO 4217 numeric code
// ("986" -> "BRL"), from the project's money package.
func CurrencyAlpha(numeric string) (string, bool) {
	if len(numeric) != 3 || !digits(numeric) {
		return "", false
	}
	c, err := money.Parse(numeric)
	if err != nil {
		return "", false
	}
	return c.Code(), true
}

// CurrencyNumeric returns the three-digit numeric code for an alphabetic one.
func CurrencyNumeric(alpha string) (string, bool) {
	c, err := money.Parse(alpha)
	if err != nil || digits(alpha) {
		return "", false
	}
	return fmt.Sprintf("%03d", c.NumericCode()), true
}

// minorUnits is the number of decimals of a currency (alphabetic code).
func minorUnits(alpha string) (int, bool) {
	c, err := money.Parse(alpha)
	if err != nil {
		return 0, false
	}
	return c.Exponent(), true
}

// FormatAmount writes minor units as an MPM amount (ID 54): digits with a
// '.' and the currency's decimals, "12.34", "1500" for VND.
func FormatAmount(minor int64, alpha string) (string, error) {
	if minor <= 0 {
		return "", fmt.Errorf("qr: amount %d: must be positive", minor)
	}
	c, err := money.Parse(alpha)
	if err != nil {
		return "", fmt.Errorf("qr: %w", err)
	}
	return c.FormatAmount(minor), nil
}

// ParseAmount reads an MPM amount in the currency's minor units. Fewer
// decimals than the currency has are allowed ("12.5" = 1250); more, signs,
// exponents or anything but digits and one '.' are errors.
func ParseAmount(s, alpha string) (int64, error) {
	c, err := money.Parse(alpha)
	if err != nil {
		return 0, fmt.Errorf("qr: %w", err)
	}
	return parseDecimal(s, c.Exponent())
}

// parseDecimal reads digits with at most one '.' and at most decimals
// digits after it, as an integer of minor units. The EMVCo rules need it
// with the largest exponent when the currency is unknown, which money's
// parser (bound to a currency) cannot do.
func parseDecimal(s string, decimals int) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("qr: amount %q: not a decimal number", s)
	}
	if len(frac) > decimals {
		return 0, fmt.Errorf("qr: amount %q: more than %d decimals", s, decimals)
	}
	if len(whole)+decimals > money.MaxDigits {
		return 0, fmt.Errorf("qr: amount %q: too large", s)
	}
	frac += strings.Repeat("0", decimals-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("qr: amount %q: %w", s, err)
	}
	return v, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
