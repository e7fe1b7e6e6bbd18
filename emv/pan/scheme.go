package pan

import "strings"

// Scheme names the card scheme of a PAN (or its leading digits) from its
// issuer identification number, "" when none of the ranges matches. It is
// the only BIN rule of the tree. Ranges, from the schemes' public issuer
// identification number lists (as summarised in ISO/IEC 7812 registers):
// Visa 4; Mastercard 51-55 and 222100-272099; Mir 2200-2204; American
// Express 34, 37; JCB 3528-3589; UnionPay 62; Discover 6011, 644-649, 65.
func Scheme(digits string) string {
	in := func(n int, lo, hi string) bool { return len(digits) >= n && digits[:n] >= lo && digits[:n] <= hi }
	switch {
	case strings.HasPrefix(digits, "4"):
		return "visa"
	case in(2, "51", "55"), in(6, "222100", "272099"):
		return "mastercard"
	case in(4, "2200", "2204"):
		return "mir"
	case strings.HasPrefix(digits, "34"), strings.HasPrefix(digits, "37"):
		return "amex"
	case in(4, "3528", "3589"):
		return "jcb"
	case strings.HasPrefix(digits, "62"):
		return "unionpay"
	case strings.HasPrefix(digits, "6011"), in(3, "644", "649"), strings.HasPrefix(digits, "65"):
		return "discover"
	}
	return ""
}

// Scheme names the PAN's scheme by its BIN (see the function Scheme).
func (p PAN) Scheme() string { return Scheme(p.digits) }
