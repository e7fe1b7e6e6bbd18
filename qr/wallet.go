package qr

import (
	"encoding/base64"
	"strings"

	"posagent/emv/pan"
)

// Format is what kind of payment code a scanned text is.
type Format string

// Formats Classify returns.
const (
	FormatMPM      Format = "emvco-mpm"
	FormatCPM      Format = "emvco-cpm"
	FormatWeChat   Format = "wechat-pay"
	FormatAlipay   Format = "alipay"
	FormatUnionPay Format = "unionpay"
	FormatUnknown  Format = "unknown"
)

// Wallet reports whether the format is a numeric wallet payment code
// (online only: there is no card data to check offline).
func (f Format) Wallet() bool {
	return f == FormatWeChat || f == FormatAlipay || f == FormatUnionPay
}

// walletRule is a numeric payment code: its two-digit prefixes and lengths.
type walletRule struct {
	format         Format
	minPfx, maxPfx int
	minLen, maxLen int
}

// walletRules: WeChat Pay 18 digits starting 10-15; Alipay 16-24 digits
// starting 25-30; UnionPay QR payment code 19 digits starting 62. The
// prefixes do not overlap, so the order does not matter.
var walletRules = []walletRule{
	{FormatWeChat, 10, 15, 18, 18},
	{FormatAlipay, 25, 30, 16, 24},
	{FormatUnionPay, 62, 62, 19, 19},
}

// classifyWallet returns the wallet format of a digit string, or unknown.
func classifyWallet(s string) Format {
	if !digits(s) || len(s) < 2 {
		return FormatUnknown
	}
	p, _ := twoDigits(s[:2])
	for _, r := range walletRules {
		if p >= r.minPfx && p <= r.maxPfx && len(s) >= r.minLen && len(s) <= r.maxLen {
			return r.format
		}
	}
	return FormatUnknown
}

// WalletCode is a wallet payment code: a one-time bearer token that pays
// whoever presents it first. Its String masks it like a PAN.
type WalletCode struct {
	Format Format
	code   string
}

// ParseWalletCode accepts a WeChat Pay, Alipay or UnionPay payment code.
func ParseWalletCode(text string) (WalletCode, bool) {
	text = strings.TrimSpace(text)
	f := classifyWallet(text)
	if f == FormatUnknown {
		return WalletCode{}, false
	}
	return WalletCode{Format: f, code: text}, true
}

// Digits returns the whole code; only code that sends it to the acquirer
// calls it.
func (w WalletCode) Digits() string { return w.code }

// String masks: first 6 and last 4 digits.
func (w WalletCode) String() string { return pan.Mask(w.code) }

// MarshalText masks.
func (w WalletCode) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// Classify says which payment code format a scanned text is. Surrounding
// white space (a scanner's line ending) is ignored. It does not validate
// beyond what tells the formats apart: an MPM with a bad CRC is still
// emvco-mpm (Inspect says it is not valid).
func Classify(text string) Format {
	text = strings.TrimSpace(text)
	if f := classifyWallet(text); f != FormatUnknown {
		return f
	}
	if digits(text) {
		return FormatUnknown
	}
	if strings.HasPrefix(text, "000201") {
		return FormatMPM
	}
	if m, _ := DecodeMPM(text); m != nil {
		return FormatMPM
	}
	if len(text) <= MaxCPM {
		raw, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(text)
		}
		if err == nil && len(raw) > 0 && raw[0] == byte(TagPayloadFormat) {
			return FormatCPM
		}
	}
	return FormatUnknown
}
