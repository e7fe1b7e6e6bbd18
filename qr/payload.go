package qr

import (
	"fmt"
	"unicode/utf8"
)

// Merchant is the merchant data a terminal puts in its dynamic codes (from
// config). Accounts are the merchant account information objects (IDs
// 02-51, e.g. 26 with the acquirer's GUID in 00 and the merchant ID in 01).
type Merchant struct {
	Accounts []Field
	MCC      string // 52, four digits
	Country  string // 58, ISO 3166 alpha-2
	Name     string // 59, at most 25 characters
	City     string // 60, at most 15 characters
	Postal   string // 61, optional
	// Merchant information in an alternate language (64), optional.
	Language, NameAlt, CityAlt string
}

// Charge is one payment a dynamic code is for.
type Charge struct {
	Amount    int64  // minor units of Currency, > 0
	Currency  string // ISO 4217 alphabetic
	Reference string // 62.05 reference label: the terminal finds the payment by it
	Terminal  string // 62.07 terminal label
}

// DynamicPayload builds the merchant-presented payload for one payment
// (point of initiation 12). The result is checked against the EMVCo rules:
// a payload that would break one is an error, not a code on the display.
func DynamicPayload(m Merchant, c Charge) (string, error) {
	num, ok := CurrencyNumeric(c.Currency)
	if !ok {
		return "", fmt.Errorf("qr: currency %q has no ISO 4217 numeric code here", c.Currency)
	}
	amount, err := FormatAmount(c.Amount, c.Currency)
	if err != nil {
		return "", err
	}
	if c.Reference == "" {
		return "", fmt.Errorf("qr: a dynamic code needs a reference (62.05)")
	}
	fields := []Field{{ID: "00", Value: "01"}, {ID: "01", Value: "12"}}
	fields = append(fields, m.Accounts...)
	fields = append(fields,
		Field{ID: "52", Value: m.MCC},
		Field{ID: "53", Value: num},
		Field{ID: "54", Value: amount},
		Field{ID: "58", Value: m.Country},
		Field{ID: "59", Value: m.Name},
		Field{ID: "60", Value: m.City},
	)
	if m.Postal != "" {
		fields = append(fields, Field{ID: "61", Value: m.Postal})
	}
	add := []Field{{ID: "05", Value: c.Reference}}
	if c.Terminal != "" {
		add = append(add, Field{ID: "07", Value: c.Terminal})
	}
	fields = append(fields, Field{ID: "62", Sub: add})
	if m.NameAlt != "" {
		alt := []Field{{ID: "00", Value: m.Language}, {ID: "01", Value: m.NameAlt}}
		if m.CityAlt != "" {
			alt = append(alt, Field{ID: "02", Value: m.CityAlt})
		}
		fields = append(fields, Field{ID: "64", Sub: alt})
	}
	s, err := EncodeMPM(fields)
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(s) > 512 {
		return "", fmt.Errorf("qr: payload of %d characters, EMVCo allows 512", utf8.RuneCountInString(s))
	}
	dec, err := DecodeMPM(s)
	if err != nil {
		return "", err
	}
	if rules := dec.Check(); len(rules) > 0 {
		return "", rules[0]
	}
	return s, nil
}

// Reference returns the reference label (62.05) of a merchant-presented
// payload: what a wallet echoes to the acquirer and the terminal waits for.
func (m *MPM) Reference() string { v, _ := m.Get("62", "05"); return v }
