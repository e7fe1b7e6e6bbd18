package acqsim

import "testing"

// The acquirer names the issuer key set by the kernel's rules: the
// Mastercard 2-series runs to 272099, Maestro takes the Mastercard keys.
func TestScheme(t *testing.T) {
	for _, c := range []struct {
		aid    []byte
		digits string
		want   string
	}{
		{nil, "2720991234567890", "mastercard"},
		{nil, "2221001234567890", "mastercard"},
		{nil, "2200123456789012", "mir"},
		{nil, "4761739001010010", "visa"},
		{nil, "6212345678901234563", "unionpay"},
		{[]byte{0xA0, 0, 0, 0, 0x04, 0x30, 0x60}, "6799990000000000", "mastercard"},
		{[]byte{0xA0, 0, 0, 0x03, 0x33, 0x01, 0x01, 0x01}, "", "unionpay"},
		{nil, "9999999999999999", ""},
	} {
		if got := scheme(c.aid, nil, c.digits); got != c.want {
			t.Errorf("scheme(%X, %s) = %q, want %q", c.aid, c.digits, got, c.want)
		}
	}
}
