package qr

import (
	"fmt"
	"unicode/utf8"
)

// Check applies the EMVCo MPM data rules to a structurally valid payload
// and returns every rule it breaks, in payload order of the checks below
// (nil when none). Real national codes break some of them (lower-case
// GUIDs, long names): callers show them as warnings unless asked to be
// strict.
func (m *MPM) Check() []*RuleError {
	var out []*RuleError
	add := func(path, rule, format string, a ...any) {
		out = append(out, &RuleError{Path: path, Rule: rule, Msg: fmt.Sprintf(format, a...)})
	}
	if len(m.Fields) == 0 || m.Fields[0].ID != "00" {
		add("00", "order", "payload format indicator must be the first object")
	}
	if v, ok := m.Get("00"); !ok {
		add("00", "mandatory", "payload format indicator missing")
	} else if v != "01" {
		add("00", "format", "payload format indicator %q, want \"01\"", v)
	}
	if v, ok := m.Get("01"); ok && v != "11" && v != "12" {
		add("01", "format", "point of initiation %q, want 11 (static) or 12 (dynamic)", v)
	}
	account := false
	for _, f := range m.Fields {
		n, _ := twoDigits(f.ID)
		switch {
		case n >= 2 && n <= 25:
			account = true
		case n >= 26 && n <= 51:
			account = true
			if g := find(f.Sub, "00"); g == nil {
				add(f.ID, "mandatory", "merchant account template without globally unique identifier (00)")
			}
		case n >= 65 && n <= 79:
			add(f.ID, "reserved", "ID reserved for future use by EMVCo")
		}
	}
	if !account {
		add("02-51", "mandatory", "no merchant account information")
	}
	numeric := func(id string, n int, name string) {
		v, ok := m.Get(id)
		switch {
		case !ok:
			add(id, "mandatory", "%s missing", name)
		case len(v) != n || !digits(v):
			add(id, "format", "%s %q, want %d digits", name, v, n)
		}
	}
	numeric("52", 4, "merchant category code")
	numeric("53", 3, "transaction currency")
	alpha, known := "", false
	if v, ok := m.Get("53"); ok {
		if alpha, known = CurrencyAlpha(v); !known && len(v) == 3 && digits(v) {
			add("53", "format", "currency %s not known here; amount decimals not checked", v)
		}
	}
	if v, ok := m.Get("54"); ok {
		checkAmount(add, "54", v, alpha, known, false)
	}
	tip, hasTip := m.Get("55")
	_, has56 := m.Get("56")
	_, has57 := m.Get("57")
	switch {
	case !hasTip:
	case tip == "01":
	case tip == "02":
		if !has56 {
			add("56", "tip", "indicator 02 (fixed convenience fee) needs 56")
		}
	case tip == "03":
		if !has57 {
			add("57", "tip", "indicator 03 (percentage convenience fee) needs 57")
		}
	default:
		add("55", "tip", "indicator %q, want 01, 02 or 03", tip)
	}
	if v, ok := m.Get("56"); ok {
		if tip != "02" {
			add("56", "tip", "fixed convenience fee present without indicator 02")
		}
		checkAmount(add, "56", v, alpha, known, true)
	}
	if v, ok := m.Get("57"); ok {
		if tip != "03" {
			add("57", "tip", "percentage convenience fee present without indicator 03")
		}
		if p, err := parseDecimal(v, 2); err != nil || p < 1 || p > 9999 {
			add("57", "tip", "percentage %q, want 00.01 to 99.99", v)
		}
	}
	if v, ok := m.Get("58"); !ok {
		add("58", "mandatory", "country code missing")
	} else if len(v) != 2 || !upperAlpha(v) {
		add("58", "format", "country code %q, want ISO 3166 alpha-2", v)
	}
	text := func(path, v string, mandatory, ok bool, max int, name string) {
		switch {
		case !ok && mandatory:
			add(path, "mandatory", "%s missing", name)
		case ok && utf8.RuneCountInString(v) > max:
			add(path, "length", "%s is %d characters, at most %d", name, utf8.RuneCountInString(v), max)
		case ok && v == "":
			add(path, "format", "%s empty", name)
		}
	}
	v, ok := m.Get("59")
	text("59", v, true, ok, 25, "merchant name")
	v, ok = m.Get("60")
	text("60", v, true, ok, 15, "merchant city")
	v, ok = m.Get("61")
	text("61", v, false, ok, 10, "postal code")
	if f := m.Field("62"); f != nil {
		for _, s := range f.Sub {
			n, _ := twoDigits(s.ID)
			switch {
			case n == 9:
				if len(s.Value) > 3 || !consumerRequest(s.Value) {
					add("62.09", "format", "additional consumer data request %q, want up to 3 of A, M, E", s.Value)
				}
			case n >= 1 && n <= 11:
				text("62."+s.ID, s.Value, false, true, 25, "additional data "+s.ID)
			case n >= 12 && n <= 49:
				add("62."+s.ID, "reserved", "additional data ID reserved for future use by EMVCo")
			}
		}
	}
	if f := m.Field("64"); f != nil {
		lang := find(f.Sub, "00")
		if lang == nil {
			add("64.00", "mandatory", "language preference missing")
		} else if len(lang.Value) != 2 {
			add("64.00", "format", "language preference %q, want ISO 639 alpha-2", lang.Value)
		}
		n := find(f.Sub, "01")
		if n == nil {
			add("64.01", "mandatory", "merchant name (alternate language) missing")
		} else {
			text("64.01", n.Value, true, true, 25, "merchant name (alternate language)")
		}
		if c := find(f.Sub, "02"); c != nil {
			text("64.02", c.Value, false, true, 15, "merchant city (alternate language)")
		}
	}
	return out
}

// checkAmount: at most 13 characters, a decimal number, the currency's
// decimals, not zero.
func checkAmount(add func(path, rule, format string, a ...any), path, v, alpha string, known, fee bool) {
	name := "transaction amount"
	if fee {
		name = "convenience fee"
	}
	if len(v) > 13 {
		add(path, "length", "%s is %d characters, at most 13", name, len(v))
	}
	decimals := 3 // the most any currency has, when 53 is unknown
	if known {
		decimals, _ = minorUnits(alpha)
	}
	a, err := parseDecimal(v, decimals)
	switch {
	case err != nil:
		add(path, "amount", "%s %q: not a decimal number with at most %d decimals", name, v, decimals)
	case a == 0:
		add(path, "amount", "%s is zero", name)
	}
}

func upperAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func consumerRequest(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != 'A' && s[i] != 'M' && s[i] != 'E' {
			return false
		}
	}
	return s != ""
}

// Amount returns the transaction amount (54) in minor units of the
// transaction currency (53, returned alphabetic). ok is false when the
// payload has no amount (a static code: the customer types it).
func (m *MPM) Amount() (minor int64, alpha string, ok bool, err error) {
	num, _ := m.Get("53")
	alpha, known := CurrencyAlpha(num)
	v, has := m.Get("54")
	if !has {
		return 0, alpha, false, nil
	}
	if !known {
		return 0, "", true, fmt.Errorf("qr: mpm: currency %q unknown", num)
	}
	minor, err = ParseAmount(v, alpha)
	return minor, alpha, true, err
}
