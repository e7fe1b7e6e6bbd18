package qr

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Published examples: their CRCs were computed by others, so they check
// crc16 independently.
const (
	// EMVCo MPM specification v1.1, appendix example (Chinese names in 64).
	vectorEMVCo = "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A"
	// Banco Central do Brasil, Pix "BR Code" manual example (static, key = EVP).
	vectorPix = "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)

// withCRC completes a payload that ends in "6304".
func withCRC(s string) string { return s + crcString([]byte(s)) }

func TestCRC16CheckValue(t *testing.T) {
	// The catalogue check value of CRC-16/CCITT-FALSE.
	if got := crc16([]byte("123456789")); got != 0x29B1 {
		t.Fatalf("crc16(123456789) = %04X, want 29B1", got)
	}
}

// National codes built from their public layouts (own vectors, own values).
var nationalVectors = []struct {
	name     string
	payload  string
	amount   int64 // minor units, 0 = none
	currency string
	warnings []string // rule paths expected among the warnings
}{
	{"emvco-spec", vectorEMVCo, 2372, "CNY", nil},
	{"pix-static", vectorPix, 0, "BRL", nil},
	{"pix-dynamic", withCRC("00020101021226800014br.gov.bcb.pix2558pix.example.com/qr/v2/9d36b84f-c70b-478f-b95c-12729b90ca255204000053039865406123.455802BR5917LOJA DO JOAO LTDA6009SAO PAULO62070503***6304"), 12345, "BRL", nil},
	// PromptPay (Thailand): merchant account 29 with AID A000000677010111 and a
	// mobile number; no 52, 59, 60 — the rules bend, the code must parse.
	{"promptpay-mobile", withCRC("00020101021129370016A000000677010111011300668123456785802TH53037646304"), 0, "THB", []string{"52", "59", "60"}},
	{"promptpay-amount", withCRC("00020101021229370016A000000677010111011300668123456785802TH530376454075000.506304"), 500050, "THB", []string{"52", "59", "60"}},
	// VietQR (Napas): 38 with AID A000000727, sub 01 itself nested (BIN + account).
	{"vietqr", withCRC("00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA530370454061800005802VN62340107NPS68690819thanh toan don hang6304"), 180000, "VND", []string{"59", "60"}},
	// SGQR with PayNow (Singapore).
	{"sgqr-paynow", withCRC("00020101021226550009SG.PAYNOW010120210201912345W030110414203112312359595204000053037025406100.005802SG5908ACME PTE6009Singapore6304"), 10000, "SGD", nil},
	// DuitNow (Malaysia), with a tip prompt.
	{"duitnow-tip", withCRC("00020101021126440016A0000006150001010106890087021000123456785204581253034585502015802MY5910KEDAI KOPI6012KUALA LUMPUR6304"), 0, "MYR", nil},
	// QRIS (Indonesia): a wallet's template 26 and the national QRIS 51. The
	// CRCs of these two were computed with Python's binascii.crc_hqx, an
	// independent CRC-16/CCITT-FALSE.
	{"qris-static", "00020101021126570011ID.DANA.WWW011893600915302259148102090225914810303UMI51440014ID.CO.QRIS.WWW0215ID10200176114730303UMI5204581253033605802ID5911Toko Contoh6013Jakarta Pusat61051034062070703A01630470E5", 0, "IDR", nil},
	// FPS (Hong Kong), dynamic with a bill reference.
	{"hk-fps", "00020101021226460012hk.com.hkicl02091234567890413+852-91234567520400005303344540588.805802HK5914CHA CHAAN TENG6009HONG KONG62120508INV-2031630475D3", 8880, "HKD", nil},
	// Lower-case CRC hex is accepted.
	{"lowercase-crc", vectorPix[:len(vectorPix)-4] + "1d3d", 0, "BRL", nil},
}

func TestDecodeNationalCodes(t *testing.T) {
	for _, tc := range nationalVectors {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeMPM(tc.payload)
			if err != nil {
				t.Fatalf("DecodeMPM: %v", err)
			}
			if !m.CRCOK {
				t.Fatal("CRC not ok")
			}
			if Classify(tc.payload) != FormatMPM {
				t.Fatalf("Classify = %s", Classify(tc.payload))
			}
			amt, cur, has, err := m.Amount()
			if err != nil || cur != tc.currency || has != (tc.amount != 0) || amt != tc.amount {
				t.Fatalf("Amount = %d %s %v %v, want %d %s", amt, cur, has, err, tc.amount, tc.currency)
			}
			var paths []string
			for _, w := range m.Check() {
				paths = append(paths, w.Path)
			}
			for _, p := range tc.warnings {
				if !slices.Contains(paths, p) {
					t.Errorf("no warning for %s in %v", p, paths)
				}
			}
			if tc.warnings == nil && len(paths) != 0 {
				t.Errorf("unexpected warnings %v", m.Check())
			}
			// Round trip: re-encoding gives the same payload (upper-case CRC).
			enc, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.EqualFold(enc, tc.payload) {
				t.Fatalf("re-encoded\n %s\nwant\n %s", enc, tc.payload)
			}
		})
	}
}

func TestEMVCoExampleFields(t *testing.T) {
	m, err := DecodeMPM(vectorEMVCo)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path []string
		want string
	}{
		{[]string{"29", "00"}, "D15600000000"},
		{[]string{"31", "03"}, "12345678"},
		{[]string{"64", "01"}, "最佳运输"},
		{[]string{"64", "02"}, "北京"},
		{[]string{"62", "09"}, "ME"},
		{[]string{"91", "00"}, "A011223344998877"},
		{[]string{"59"}, "BEST TRANSPORT"},
	} {
		if got, ok := m.Get(c.path...); !ok || got != c.want {
			t.Errorf("Get(%v) = %q, %v; want %q", c.path, got, ok, c.want)
		}
	}
	if !m.Dynamic() {
		t.Error("01=12 not seen as dynamic")
	}
}

func TestDecodeStructuralErrors(t *testing.T) {
	cases := []struct {
		name    string
		payload string
		want    error
		path    string
	}{
		{"empty", "", ErrNoCRC, ""},
		{"bad-crc", vectorPix[:len(vectorPix)-4] + "1D3E", ErrCRC, "63"},
		{"crc-not-hex", vectorPix[:len(vectorPix)-4] + "1D3G", ErrNoCRC, "63"},
		{"no-crc", "000201", ErrNoCRC, ""},
		{"crc-not-last", withCRC("000201630400005802BR6304"), ErrDuplicate, "63"},
		{"crc-in-middle", "0002016304ABCD5802BR", ErrNoCRC, "63"},
		{"length-past-end", "0002015899BR", ErrTruncated, "58"},
		{"short-tail", "00020158", ErrTruncated, ""},
		{"id-not-digits", "0002015A02BR6304ABCD", ErrID, ""},
		{"length-not-digits", "00020158X2BR6304ABCD", ErrID, "58"},
		{"duplicate-top", withCRC("000201000201520400006304"), ErrDuplicate, "00"},
		{"duplicate-sub", withCRC("0002016212050212050212" + "6304"), ErrDuplicate, "62.05"},
		{"template-not-tlv", withCRC("00020126050014X6304"), ErrNesting, "26.00"},
		{"template-sub-truncated", withCRC("000201620605091236304"), ErrNesting, "62.05"},
		{"empty-template", withCRC("00020162006304"), ErrNesting, "62"},
		{"invalid-utf8", "000201590\xff6304ABCD", ErrEncoding, ""},
		// Lengths are characters: with bytes, 64.01 of 4 CJK characters (12 bytes) would overrun.
		{"length-in-bytes", withCRC("00020164220002ZH0112最佳运输6304"), ErrNoCRC, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeMPM(tc.payload)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var me *MPMError
			if !errors.As(err, &me) {
				t.Fatalf("err %T is not *MPMError", err)
			}
			if me.Path != tc.path {
				t.Errorf("path = %q, want %q (%v)", me.Path, tc.path, err)
			}
			if errors.Is(err, ErrCRC) != (m != nil) {
				t.Errorf("MPM returned = %v, only a CRC mismatch returns one", m != nil)
			}
		})
	}
}

func TestCheckRules(t *testing.T) {
	base := func(extra string) string {
		return withCRC("00020101021226160004TEST01041234" + "52045812" + "5303978" + extra + "5802DE5905SHOP16006BERLIN" + "6304")
	}
	cases := []struct {
		name    string
		payload string
		want    []string // "path rule"
	}{
		{"clean", base(""), nil},
		{"zero-amount", base("54040.00"), []string{"54 amount"}},
		{"amount-3-decimals-eur", base("54051.234"), []string{"54 amount"}},
		{"amount-not-number", base("54031e3"), []string{"54 amount"}},
		{"amount-too-long", base("541412345678901.00"), []string{"54 length", "54 amount"}}, // 13 digits: more than ISO 8583 field 4 holds
		{"tip-02-without-56", base("550202"), []string{"56 tip"}},
		{"tip-03-without-57", base("550203"), []string{"57 tip"}},
		{"tip-56-without-02", base("5502015603100"), []string{"56 tip"}},
		{"tip-bad-indicator", base("550204"), []string{"55 tip"}},
		{"tip-percentage-range", base("5502035706100.00"), []string{"57 tip"}},
		{"tip-ok-03", base("550203570503.50"), nil},
		{"tip-ok-02", base("55020256041.00"), nil},
		{"reserved-id", base("65020A"), []string{"65 reserved"}},
		{"consumer-request", base("62060902XY"), []string{"62.09 format"}},
		{"alt-lang-missing-name", base("64060002TH"), []string{"64.01 mandatory"}},
		{"alt-lang-name-too-long", base("64380002TH0128" + strings.Repeat("ก", 28)), []string{"64.01 length"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeMPM(tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range m.Check() {
				got = append(got, w.Path+" "+w.Rule)
				if !errors.Is(w, ErrRule) {
					t.Errorf("%v does not unwrap to ErrRule", w)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("rules = %v, want %v", got, tc.want)
			}
		})
	}
	// Missing mandatory objects, wrong formats.
	m, err := DecodeMPM(withCRC("0102115303XYZ5803DEU6304"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range m.Check() {
		got = append(got, w.Path+" "+w.Rule)
	}
	want := []string{"00 order", "00 mandatory", "02-51 mandatory", "52 mandatory", "53 format", "58 format", "59 mandatory", "60 mandatory"}
	if !slices.Equal(got, want) {
		t.Fatalf("rules = %v\nwant %v", got, want)
	}
}

func TestEncodeMPM(t *testing.T) {
	s, err := EncodeMPM([]Field{
		{ID: "00", Value: "01"},
		{ID: "64", Sub: []Field{{ID: "00", Value: "ZH"}, {ID: "01", Value: "最佳运输"}}},
		{ID: "63", Value: "FFFF"}, // dropped and recomputed
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := withCRC("000201" + "6414" + "0002ZH" + "0104最佳运输" + "6304"); s != want {
		t.Fatalf("got %s, want %s", s, want)
	}
	for _, bad := range [][]Field{
		{{ID: "5", Value: "x"}},
		{{ID: "59", Value: strings.Repeat("x", 100)}},
		{{ID: "62", Sub: []Field{{ID: "AA", Value: "x"}}}},
		{{ID: "59", Value: "\xff"}},
	} {
		if _, err := EncodeMPM(bad); err == nil {
			t.Errorf("EncodeMPM(%v) accepted", bad)
		}
	}
}

func TestAmounts(t *testing.T) {
	for _, c := range []struct {
		minor int64
		cur   string
		text  string
	}{
		{1234, "EUR", "12.34"}, {5, "EUR", "0.05"}, {150000, "VND", "150000"}, {1000, "JPY", "1000"}, {1234, "KWD", "1.234"},
	} {
		got, err := FormatAmount(c.minor, c.cur)
		if err != nil || got != c.text {
			t.Errorf("FormatAmount(%d, %s) = %q, %v; want %q", c.minor, c.cur, got, err, c.text)
		}
		back, err := ParseAmount(got, c.cur)
		if err != nil || back != c.minor {
			t.Errorf("ParseAmount(%q) = %d, %v", got, back, err)
		}
	}
	if v, err := ParseAmount("12.5", "EUR"); err != nil || v != 1250 {
		t.Errorf("ParseAmount(12.5) = %d, %v", v, err)
	}
	for _, bad := range []string{"", ".", "-1", "1.234", "1e3", "+5", "1.2.3", " 1", "99999999999999999"} {
		if _, err := ParseAmount(bad, "EUR"); err == nil {
			t.Errorf("ParseAmount(%q) accepted", bad)
		}
	}
	if _, err := FormatAmount(0, "EUR"); err == nil {
		t.Error("FormatAmount(0) accepted")
	}
	if _, err := FormatAmount(1, "XQQ"); err == nil {
		t.Error("unknown currency accepted")
	}
}

var testMerchant = Merchant{
	Accounts: []Field{{ID: "26", Sub: []Field{{ID: "00", Value: "com.posagent.acq"}, {ID: "01", Value: "MERCHANT000001"}}}},
	MCC:      "5812", Country: "TH", Name: "KHAO SAN NOODLES", City: "BANGKOK",
	Language: "TH", NameAlt: "ก๋วยเตี๋ยวข้าวสาร", CityAlt: "กรุงเทพ",
}

func TestDynamicPayload(t *testing.T) {
	s, err := DynamicPayload(testMerchant, Charge{Amount: 123456, Currency: "THB", Reference: "PAY-0001", Terminal: "T0001"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMPM(s)
	if err != nil {
		t.Fatal(err)
	}
	amt, cur, ok, err := m.Amount()
	if err != nil || !ok || amt != 123456 || cur != "THB" {
		t.Fatalf("amount %d %s %v %v", amt, cur, ok, err)
	}
	if m.Reference() != "PAY-0001" || !m.Dynamic() {
		t.Fatalf("reference %q dynamic %v", m.Reference(), m.Dynamic())
	}
	if v, _ := m.Get("62", "07"); v != "T0001" {
		t.Fatalf("terminal %q", v)
	}
	if v, _ := m.Get("64", "01"); v != testMerchant.NameAlt {
		t.Fatalf("alternate name %q", v)
	}
	for _, c := range []struct {
		name string
		m    Merchant
		c    Charge
	}{
		{"zero", testMerchant, Charge{Amount: 0, Currency: "THB", Reference: "X"}},
		{"no-reference", testMerchant, Charge{Amount: 1, Currency: "THB"}},
		{"reference-too-long", testMerchant, Charge{Amount: 1, Currency: "THB", Reference: strings.Repeat("R", 26)}},
		{"currency", testMerchant, Charge{Amount: 1, Currency: "XQQ", Reference: "X"}},
		{"name-too-long", Merchant{Accounts: testMerchant.Accounts, MCC: "5812", Country: "TH", Name: strings.Repeat("N", 26), City: "X"}, Charge{Amount: 1, Currency: "THB", Reference: "X"}},
		{"no-account", Merchant{MCC: "5812", Country: "TH", Name: "N", City: "X"}, Charge{Amount: 1, Currency: "THB", Reference: "X"}},
	} {
		if s, err := DynamicPayload(c.m, c.c); err == nil {
			t.Errorf("%s: accepted: %s", c.name, s)
		}
	}
}
