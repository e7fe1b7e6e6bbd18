package agent

import (
	"fmt"

	"posagent/money"
)

// The engine's currency rules, on package money (ISO 4217 codes and minor
// units): a payment's currency is an alphabetic code; the kernel and the
// uplink take the numeric one.

// currencyOf returns the currency with the alphabetic code alpha
// (uppercase, as the API carries it).
func currencyOf(alpha string) (money.Currency, bool) {
	if len(alpha) != 3 || alpha[0] < 'A' || alpha[0] > 'Z' {
		return money.Currency{}, false
	}
	c, err := money.Parse(alpha)
	if err != nil || c.Code() != alpha {
		return money.Currency{}, false
	}
	return c, true
}

// numericOf is the 3-digit numeric code ("978") of an alphabetic one.
func numericOf(alpha string) string {
	c, _ := currencyOf(alpha)
	return fmt.Sprintf("%03d", c.NumericCode())
}

// alphaOf returns the alphabetic code of a numeric one ("978" -> "EUR"),
// or the numeric code itself when unknown.
func alphaOf(numeric string) string {
	if c, err := money.Parse(numeric); err == nil {
		return c.Code()
	}
	return numeric
}

// formatAmount writes minor units with the currency: "12.34 EUR".
func formatAmount(minor int64, alpha string) string {
	c, ok := currencyOf(alpha)
	if !ok {
		return fmt.Sprintf("%d %s", minor, alpha)
	}
	if minor < 0 {
		return "-" + c.Format(-minor)
	}
	return c.Format(minor)
}
