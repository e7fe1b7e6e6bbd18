package qr

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// numericCurrency maps the ISO 4217 numeric codes MPM carries in ID 53 to
// the alphabetic codes the rest of posagent uses. golang.org/x/text/currency
// (which gives the minor units) knows only the alphabetic codes; this table
// covers the currencies of the QR schemes in use and the major ones.
// TODO(money): use the project's money package when it lands in main.
var numericCurrency = map[string]string{
	"036": "AUD", "048": "BHD", "050": "BDT", "104": "MMK", "116": "KHR", "124": "CAD",
	"144": "LKR", "152": "CLP", "156": "CNY", "170": "COP", "344": "HKD", "356": "INR",
	"360": "IDR", "392": "JPY", "404": "KES", "410": "KRW", "414": "KWD", "418": "LAK",
	"458": "MYR", "484": "MXN", "512": "OMR", "524": "NPR", "554": "NZD", "566": "NGN",
	"586": "PKR", "604": "PEN", "608": "PHP", "634": "QAR", "682": "SAR", "702": "SGD",
	"704": "VND", "710": "ZAR", "756": "CHF", "764": "THB", "784": "AED", "788": "TND",
	"818": "EGP", "826": "GBP", "840": "USD", "901": "TWD", "949": "TRY", "978": "EUR",
	"986": "BRL", "032": "ARS", "643": "RUB", "985": "PLN", "203": "CZK", "348": "HUF",
	"752": "SEK", "578": "NOK", "208": "DKK", "376": "ILS", "446": "MOP",
}

// CurrencyAlpha returns the alphabetic code for an ISO 4217 numeric code
// ("986" -> "BRL").
func CurrencyAlpha(numeric string) (string, bool) {
	a, ok := numericCurrency[numeric]
	return a, ok
}

// CurrencyNumeric returns the numeric code for an alphabetic one.
func CurrencyNumeric(alpha string) (string, bool) {
	alpha = strings.ToUpper(alpha)
	for n, a := range numericCurrency {
		if a == alpha {
			return n, true
		}
	}
	return "", false
}

// minorUnits is the number of decimals of a currency (alphabetic code),
// from CLDR through golang.org/x/text/currency.
func minorUnits(alpha string) (int, bool) {
	u, err := currency.ParseISO(alpha)
	if err != nil {
		return 0, false
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale, true
}

// FormatAmount writes minor units as an MPM amount (ID 54): digits with a
// '.' and the currency's decimals, "12.34", "1500" for VND.
func FormatAmount(minor int64, alpha string) (string, error) {
	if minor <= 0 {
		return "", fmt.Errorf("qr: amount %d: must be positive", minor)
	}
	d, ok := minorUnits(alpha)
	if !ok {
		return "", fmt.Errorf("qr: unknown currency %q", alpha)
	}
	s := strconv.FormatInt(minor, 10)
	if d == 0 {
		return s, nil
	}
	for len(s) <= d {
		s = "0" + s
	}
	return s[:len(s)-d] + "." + s[len(s)-d:], nil
}

// ParseAmount reads an MPM amount in the currency's minor units. Fewer
// decimals than the currency has are allowed ("12.5" = 1250); more, signs,
// exponents or anything but digits and one '.' are errors.
func ParseAmount(s, alpha string) (int64, error) {
	d, ok := minorUnits(alpha)
	if !ok {
		return 0, fmt.Errorf("qr: unknown currency %q", alpha)
	}
	return parseDecimal(s, d)
}

func parseDecimal(s string, decimals int) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("qr: amount %q: not a decimal number", s)
	}
	if len(frac) > decimals {
		return 0, fmt.Errorf("qr: amount %q: more than %d decimals", s, decimals)
	}
	if len(whole) > 15 {
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
