package money

import (
	"errors"
	"testing"

	"golang.org/x/text/currency"
)

func TestMinorUnits(t *testing.T) {
	for n, a := range numericCodes {
		c, err := Numeric(n)
		if err != nil || c.Code() != a || c.NumericCode() != n {
			t.Fatalf("Numeric(%d) = %v %v", n, c, err)
		}
		u, err := currency.ParseISO(a)
		e, override := isoMinorUnits[a]
		if err != nil {
			if !override {
				t.Errorf("%s: x/text does not know it and isoMinorUnits has no entry", a)
			}
			continue
		}
		if scale, _ := currency.Standard.Rounding(u); override && scale == e {
			t.Errorf("%s: isoMinorUnits says %d, as x/text does: drop the entry", a, e)
		}
	}
	for a := range isoMinorUnits {
		if _, err := Parse(a); err != nil {
			t.Errorf("isoMinorUnits has %s, not in numericCodes", a)
		}
	}
}

func TestExponents(t *testing.T) {
	for _, c := range []struct {
		code string
		num  uint16
		exp  int
	}{
		{"EUR", 978, 2}, {"USD", 840, 2}, {"GBP", 826, 2}, {"JPY", 392, 0}, {"KRW", 410, 0},
		{"CLP", 152, 0}, {"ISK", 352, 0}, {"XAF", 950, 0}, {"XOF", 952, 0}, {"VND", 704, 0},
		{"KWD", 414, 3}, {"BHD", 48, 3}, {"JOD", 400, 3}, {"OMR", 512, 3}, {"TND", 788, 3},
		{"IQD", 368, 3}, {"LYD", 434, 3}, {"CLF", 990, 4}, {"IDR", 360, 2}, {"HUF", 348, 2},
	} {
		got, err := Parse(c.code)
		if err != nil || got.NumericCode() != c.num || got.Exponent() != c.exp {
			t.Errorf("Parse(%s) = %s %d exp %d, %v; want %d exp %d", c.code, got, got.NumericCode(), got.Exponent(), err, c.num, c.exp)
		}
		byNum, err := Numeric(c.num)
		if err != nil || byNum != got {
			t.Errorf("Numeric(%d) = %v, %v; want %v", c.num, byNum, err, got)
		}
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"978", "eur", "EUR", "Eur"} {
		if c, err := Parse(s); err != nil || c.Code() != "EUR" {
			t.Errorf("Parse(%q) = %v, %v", s, c, err)
		}
	}
	for _, s := range []string{"", "000", "1000", "EU", "EURO", "ZZZ", "12a", "-978"} {
		if c, err := Parse(s); !errors.Is(err, ErrUnknownCurrency) {
			t.Errorf("Parse(%q) = %v, %v; want ErrUnknownCurrency", s, c, err)
		}
	}
}

func must(t *testing.T, code string) Currency {
	t.Helper()
	c, err := Parse(code)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAmounts(t *testing.T) {
	for _, c := range []struct {
		code, in string
		minor    int64
		out      string
	}{
		{"EUR", "12.34", 1234, "12.34"},
		{"EUR", "12.3", 1230, "12.30"},
		{"EUR", "12", 1200, "12.00"},
		{"EUR", "0.05", 5, "0.05"},
		{"EUR", "0", 0, "0.00"},
		{"EUR", "9999999999.99", 999999999999, "9999999999.99"},
		{"JPY", "1234", 1234, "1234"},
		{"JPY", "0", 0, "0"},
		{"KWD", "1.234", 1234, "1.234"},
		{"KWD", "0.5", 500, "0.500"},
		{"KWD", "12", 12000, "12.000"},
		{"CLF", "1.0001", 10001, "1.0001"},
	} {
		cur := must(t, c.code)
		got, err := cur.ParseAmount(c.in)
		if err != nil || got != c.minor {
			t.Errorf("%s ParseAmount(%q) = %d, %v; want %d", c.code, c.in, got, err, c.minor)
		}
		if s := cur.FormatAmount(c.minor); s != c.out {
			t.Errorf("%s FormatAmount(%d) = %q; want %q", c.code, c.minor, s, c.out)
		}
	}
	for _, c := range []struct{ code, in string }{
		{"EUR", "12.345"}, {"JPY", "12.5"}, {"KWD", "1.2345"}, {"EUR", "-1"}, {"EUR", "+1"},
		{"EUR", ""}, {"EUR", "."}, {"EUR", "1."}, {"EUR", ".5"}, {"EUR", "1 000"}, {"EUR", "1,00"},
		{"EUR", "10000000000.00"}, {"JPY", "1000000000000"}, {"EUR", "1e3"},
	} {
		if v, err := must(t, c.code).ParseAmount(c.in); !errors.Is(err, ErrBadAmount) {
			t.Errorf("%s ParseAmount(%q) = %d, %v; want ErrBadAmount", c.code, c.in, v, err)
		}
	}
	if s := must(t, "EUR").FormatAmount(-5); s != "-0.05" {
		t.Errorf("FormatAmount(-5) = %q", s)
	}
	if s := must(t, "JPY").Format(500); s != "500 JPY" {
		t.Errorf("Format = %q", s)
	}
	if _, err := (Currency{}).ParseAmount("1"); !errors.Is(err, ErrUnknownCurrency) {
		t.Errorf("zero Currency parsed an amount: %v", err)
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.34", "0", "1.", "999999999999", "00000000000000001"} {
		f.Add("EUR", s)
		f.Add("KWD", s)
		f.Add("JPY", s)
	}
	f.Fuzz(func(t *testing.T, code, s string) {
		c, err := Parse(code)
		if err != nil {
			return
		}
		v, err := c.ParseAmount(s)
		if err != nil {
			return
		}
		if v < 0 || v > 999999999999 {
			t.Fatalf("ParseAmount(%q) = %d", s, v)
		}
		back, err := c.ParseAmount(c.FormatAmount(v))
		if err != nil || back != v {
			t.Fatalf("round trip %d -> %q -> %d, %v", v, c.FormatAmount(v), back, err)
		}
	})
}

// TestISOMinorUnits checks every currency against ISO 4217 List One's minor
// units, written here the way the list groups them: 0, 3 and 4 decimals are
// the exceptions, "N.A." (funds, metals, XXX) counts as 0, the rest have 2.
func TestISOMinorUnits(t *testing.T) {
	want := map[string]int{}
	for _, a := range []string{"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
		"XAU", "XAG", "XPT", "XPD", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XTS", "XUA", "XXX"} {
		want[a] = 0
	}
	for _, a := range []string{"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"} {
		want[a] = 3
	}
	want["CLF"], want["UYW"] = 4, 4
	for n, a := range numericCodes {
		e, ok := want[a]
		if !ok {
			e = 2
		}
		if c, _ := Numeric(n); c.Exponent() != e {
			t.Errorf("%s: exponent %d, ISO 4217 says %d", a, c.Exponent(), e)
		}
	}
}
