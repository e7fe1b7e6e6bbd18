package qr

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"posagent/emv/tlv"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

const (
	testPAN    = "4761739001010119"
	testTrack2 = "4761739001010119D2212201175892888"
)

// cpmVector is a consumer-presented payload: two applications (the first
// with track 2 and a transparent template), common data with the PAN,
// name, cryptogram and an unknown tag.
func cpmVector() []byte {
	return cat(
		tlv.Encode(0x85, []byte("CPV01")),
		tlv.Encode(0x61, cat(
			tlv.Encode(0x4F, unhex("A0000000031010")),
			tlv.Encode(0x50, []byte("VISA DEBIT")),
			tlv.Encode(0x57, unhex(testTrack2+"F")),
			tlv.Encode(0x63, tlv.Encode(0xDF01, []byte{1, 2})),
		)),
		tlv.Encode(0x61, cat(
			tlv.Encode(0x4F, unhex("A0000000041010")),
			tlv.Encode(0x50, []byte("MASTERCARD")),
		)),
		tlv.Encode(0x62, cat(
			tlv.Encode(0x5A, unhex(testPAN)),
			tlv.Encode(0x5F20, []byte("SMITH/JANE")),
			tlv.Encode(0x9F26, unhex("1122334455667788")),
			tlv.Encode(0x9F36, unhex("0001")),
			tlv.Encode(0xDF7E, unhex("CAFE")),
			tlv.Encode(0x64, tlv.Encode(0xDF02, []byte("opaque"))),
		)),
		tlv.Encode(0x9F1E, []byte("TERM0001")), // unknown at top level: kept
	)
}

func TestDecodeCPM(t *testing.T) {
	text := base64.StdEncoding.EncodeToString(cpmVector())
	if f := Classify(text); f != FormatCPM {
		t.Fatalf("Classify = %s", f)
	}
	c, err := DecodeCPM(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Applications) != 2 || c.Common == nil || len(c.Other) != 1 {
		t.Fatalf("apps %d common %v other %d", len(c.Applications), c.Common != nil, len(c.Other))
	}
	a := c.Applications[0]
	if hex.EncodeToString(a.AID) != "a0000000031010" || a.Label != "VISA DEBIT" {
		t.Errorf("app 0 = %X %q", a.AID, a.Label)
	}
	if a.Account().Digits() != testPAN || a.Track2.Raw() != testTrack2 {
		t.Errorf("track 2 PAN %s raw %s", a.Account().Digits(), a.Track2.Raw())
	}
	if string(a.Transparent) != string(tlv.Encode(0xDF01, []byte{1, 2})) {
		t.Errorf("transparent 63 = %X", a.Transparent)
	}
	if c.Common.PAN.Digits() != testPAN {
		t.Errorf("common PAN %s", c.Common.PAN.Digits())
	}
	if v := tlv.Value(c.Common.Tags, 0xDF7E); hex.EncodeToString(v) != "cafe" {
		t.Errorf("unknown tag DF7E lost: %X", v)
	}
	// Unpadded base64 and surrounding white space are accepted.
	if _, err := DecodeCPM("\n" + base64.RawStdEncoding.EncodeToString(cpmVector()) + "\r\n"); err != nil {
		t.Errorf("raw base64: %v", err)
	}
}

func TestInspectCPMMasks(t *testing.T) {
	text := base64.StdEncoding.EncodeToString(cpmVector())
	r := Inspect(text, InspectOptions{})
	if !r.Valid || r.Format != FormatCPM || r.CRCOK != nil {
		t.Fatalf("report %+v", r)
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(js)
	for _, secret := range []string{testPAN, "2212201175892888", "SMITH", "1122334455667788", "4D49544"} {
		if strings.Contains(s, secret) {
			t.Errorf("JSON leaks %q: %s", secret, s)
		}
	}
	for _, want := range []string{`"pan":"476173******0119"`, `"track2":"476173******0119D****"`, `"aid":"A0000000031010"`, `"DF7E":"CAFE"`, `"transparent":"DF0102`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON lacks %s: %s", want, s)
		}
	}
	// Unmasked (a test bench only) shows the PAN.
	js, _ = json.Marshal(Inspect(text, InspectOptions{Unmasked: true}))
	if !strings.Contains(string(js), testPAN) {
		t.Errorf("unmasked JSON has no PAN: %s", js)
	}
}

func TestDecodeCPMErrors(t *testing.T) {
	pfi := tlv.Encode(0x85, []byte("CPV01"))
	app := tlv.Encode(0x61, tlv.Encode(0x4F, unhex("A0000000031010")))
	cases := []struct {
		name string
		raw  []byte
		text string // used instead of raw when set
		want error
		path string
	}{
		{"not-base64", nil, "!!!not base64", ErrEncoding, ""},
		{"empty", []byte{}, "", ErrFormatIndicator, "85"},
		{"no-85", app, "", ErrFormatIndicator, "85"},
		{"85-not-first", cat(app, pfi), "", ErrFormatIndicator, "85"},
		{"wrong-version", cat(tlv.Encode(0x85, []byte("CPV02")), app), "", ErrFormatIndicator, "85"},
		{"two-85", cat(pfi, pfi, app), "", ErrDuplicate, "85"},
		{"no-application", pfi, "", ErrNesting, "61"},
		{"truncated", cat(pfi, unhex("6110 4F07A000")), "", ErrTLV, ""},
		{"duplicate-in-61", cat(pfi, tlv.Encode(0x61, cat(tlv.Encode(0x50, []byte("A")), tlv.Encode(0x50, []byte("B"))))), "", ErrDuplicate, "61.50"},
		{"two-62", cat(pfi, app, tlv.Encode(0x62, tlv.Encode(0x9F36, []byte{0, 1})), tlv.Encode(0x62, tlv.Encode(0x9F36, []byte{0, 1}))), "", ErrDuplicate, "62"},
		{"bad-pan", cat(pfi, tlv.Encode(0x61, tlv.Encode(0x5A, unhex("47AB")))), "", ErrTLV, "61.5A"},
		{"bad-track2", cat(pfi, tlv.Encode(0x61, tlv.Encode(0x57, unhex("4761739001010119")))), "", ErrTLV, "61.57"},
		{"too-long", nil, strings.Repeat("A", MaxCPM+4), ErrTooLong, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := tc.text
			if tc.raw != nil {
				text = base64.StdEncoding.EncodeToString(tc.raw)
			}
			_, err := DecodeCPM(text)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var ce *CPMError
			if !errors.As(err, &ce) || ce.Path != tc.path {
				t.Fatalf("err %v: path %q, want %q", err, ce.Path, tc.path)
			}
			if strings.Contains(err.Error(), "4761739001010119") {
				t.Errorf("error leaks the PAN: %v", err)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		text string
		want Format
	}{
		{"134567890123456789", FormatWeChat},  // 18 digits, 13
		{"104567890123456789", FormatWeChat},  // 10
		{"164567890123456789", FormatUnknown}, // 16 is not WeChat, 18 digits is not Alipay? (16-24 and 25-30 prefix)
		{"1345678901234567", FormatUnknown},   // WeChat prefix, 16 digits
		{"2812345678901234", FormatAlipay},    // 16 digits
		{"281234567890123456789012", FormatAlipay},
		{"2812345678901234567890123", FormatUnknown}, // 25 digits
		{"301234567890123456", FormatAlipay},
		{"311234567890123456", FormatUnknown},
		{"6212345678901234567", FormatUnionPay}, // 19 digits
		{"621234567890123456", FormatUnknown},   // 18
		{"6212345678901234567\r\n", FormatUnionPay},
		{vectorPix, FormatMPM},
		{vectorPix[:len(vectorPix)-4] + "0000", FormatMPM}, // bad CRC is still MPM
		{"https://example.com/pay", FormatUnknown},
		{"", FormatUnknown},
		{"12ab", FormatUnknown},
	}
	for _, c := range cases {
		if got := Classify(c.text); got != c.want {
			t.Errorf("Classify(%q) = %s, want %s", c.text, got, c.want)
		}
	}
	if r := Inspect(" "+vectorPix+"\r\n", InspectOptions{Strict: true}); !r.Valid || r.Format != FormatMPM {
		t.Errorf("MPM with a scanner's line ending: %+v", r)
	}
	w, ok := ParseWalletCode("134567890123456789")
	if !ok || w.String() != "134567********6789" || w.Digits() != "134567890123456789" || !w.Format.Wallet() {
		t.Errorf("wallet code %v %v", w, ok)
	}
}
