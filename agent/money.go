package agent

import (
	"fmt"
	"strconv"
)

// This file is the engine's only knowledge of ISO 4217. It is kept small
// so that the shared amount/currency package (golang.org/x/text/currency
// based) can replace it in one place.

// currencyInfo is one ISO 4217 currency: numeric code and minor units.
type currencyInfo struct {
	Num uint16
	Exp byte
}

var currencies = map[string]currencyInfo{
	"EUR": {978, 2}, "USD": {840, 2}, "GBP": {826, 2}, "CHF": {756, 2}, "CNY": {156, 2},
	"JPY": {392, 0}, "SEK": {752, 2}, "DKK": {208, 2}, "NOK": {578, 2}, "PLN": {985, 2},
	"CZK": {203, 2}, "HUF": {348, 2}, "CAD": {124, 2}, "AUD": {36, 2}, "HKD": {344, 2},
	"SGD": {702, 2}, "KRW": {410, 0}, "ISK": {352, 0}, "KWD": {414, 3}, "BHD": {48, 3},
	"JOD": {400, 3}, "OMR": {512, 3}, "TND": {788, 3}, "INR": {356, 2}, "RON": {946, 2},
	"BGN": {975, 2}, "TRY": {949, 2}, "MXN": {484, 2}, "BRL": {986, 2}, "ZAR": {710, 2},
}

// lookupCurrency returns the currency with alphabetic code alpha.
func lookupCurrency(alpha string) (currencyInfo, bool) {
	c, ok := currencies[alpha]
	return c, ok
}

// currencyNumeric is the 3-digit numeric code the uplink and the kernel use.
func (c currencyInfo) numeric() string { return fmt.Sprintf("%03d", c.Num) }

// alphaOf returns the alphabetic code of a numeric one ("978" -> "EUR"),
// or the numeric code itself when unknown.
func alphaOf(numeric string) string {
	n, err := strconv.Atoi(numeric)
	if err == nil && n > 0 && n < 1000 {
		if a, ok := alphaCurrency(uint16(n)); ok {
			return a
		}
	}
	return numeric
}

// formatAmount writes minor units with the currency's decimals and code:
// "12.34 EUR".
func formatAmount(minor int64, alpha string) string {
	c, ok := lookupCurrency(alpha)
	exp := 2
	if ok {
		exp = int(c.Exp)
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	if exp == 0 {
		return fmt.Sprintf("%s%d %s", sign, minor, alpha)
	}
	p := int64(1)
	for range exp {
		p *= 10
	}
	return fmt.Sprintf("%s%d.%0*d %s", sign, minor/p, exp, minor%p, alpha)
}

// alphaCurrency returns the alphabetic code of a numeric one.
func alphaCurrency(num uint16) (string, bool) {
	for a, c := range currencies {
		if c.Num == num {
			return a, true
		}
	}
	return "", false
}
