package pan

import "testing"

func TestScheme(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"4761739001010010", "visa"},
		{"5100000000000000", "mastercard"},
		{"5599999999999999", "mastercard"},
		{"5000000000000000", ""},
		{"5600000000000000", ""},
		{"2221000000000000", "mastercard"},
		{"2220990000000000", ""},
		{"2720990000000000", "mastercard"},
		{"2720999999999999", "mastercard"},
		{"2721000000000000", ""},
		{"2720", ""}, // too short to tell
		{"2200123456789012", "mir"},
		{"2205000000000000", ""},
		{"2299000000000000", "mastercard"},
		{"340000000000000", "amex"},
		{"370000000000000", "amex"},
		{"3528000000000000", "jcb"},
		{"3590000000000000", ""},
		{"6212345678901234563", "unionpay"},
		{"6011000000000000", "discover"},
		{"6500000000000000", "discover"},
		{"", ""},
	} {
		if got := Scheme(c.in); got != c.want {
			t.Errorf("Scheme(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
