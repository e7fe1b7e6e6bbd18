package emv

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"posagent/emv/tlv"
)

// scripted answers commands by their hex prefix; unknown commands get 6D00.
// A pure-logic fake for Entry Point tests; the kernels are tested against
// the software cards of emv/cardsim.
type scripted struct {
	answers map[string]string
	sent    []string
	fail    error
}

func (c *scripted) Transmit(_ context.Context, apdu []byte) ([]byte, error) {
	k := strings.ToUpper(hex.EncodeToString(apdu))
	c.sent = append(c.sent, k)
	if c.fail != nil {
		return nil, c.fail
	}
	best := ""
	for p := range c.answers {
		if strings.HasPrefix(k, p) && len(p) > len(best) {
			best = p
		}
	}
	if best == "" {
		return []byte{0x6D, 0x00}, nil
	}
	b, _ := hex.DecodeString(strings.ReplaceAll(c.answers[best], " ", ""))
	return b, nil
}

func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// ppseFCI builds a PPSE answer listing entries (aid, label, priority, kernel id or -1).
func ppseFCI(entries ...[4]string) string {
	var dir []byte
	for _, e := range entries {
		var v []byte
		v = tlv.Append(v, 0x4F, hx(e[0]))
		v = tlv.Append(v, 0x50, []byte(e[1]))
		if e[2] != "" {
			v = tlv.Append(v, 0x87, hx(e[2]))
		}
		if e[3] != "" {
			v = tlv.Append(v, 0x9F2A, hx(e[3]))
		}
		dir = tlv.Append(dir, 0x61, v)
	}
	a5 := tlv.Encode(0xA5, tlv.Encode(0xBF0C, dir))
	return hex.EncodeToString(tlv.Encode(0x6F, append(tlv.Encode(0x84, ppseName), a5...))) + "9000"
}

func fci(aid, label string) string {
	a5 := tlv.Encode(0xA5, tlv.Encode(0x50, []byte(label)))
	return hex.EncodeToString(tlv.Encode(0x6F, append(tlv.Encode(0x84, hx(aid)), a5...))) + "9000"
}

const selPPSE = "00A404000E325041592E5359532E444446303100"

func sel(aid string) string { return "00A40400" + hex.EncodeToString([]byte{byte(len(aid) / 2)}) + aid }

func TestEntryPoint(t *testing.T) {
	visa, mc := "A0000000031010", "A0000000041010"
	for _, tc := range []struct {
		name     string
		amount   int64
		answers  map[string]string
		outcome  Outcome
		aid      string
		kernel   string
		reason   string
		sentHave []string
	}{
		{
			name:    "amount over every limit",
			amount:  2000000,
			outcome: TryAnotherInterface,
			reason:  "not allowed",
		},
		{
			name:    "priority orders candidates; 6985 on GPO selects next",
			amount:  100,
			answers: map[string]string{selPPSE: ppseFCI([4]string{mc, "MC", "02", ""}, [4]string{visa, "VISA", "01", ""}), sel(visa): fci(visa, "VISA"), sel(mc): fci(mc, "MC"), "80A8": "6985"},
			outcome: EndApplication,
			// The result reports the last application tried (Mastercard),
			// not a mix of both.
			aid:    mc,
			kernel: "C-2",
			// Visa (priority 1) first, then Mastercard.
			sentHave: []string{sel(visa), sel(mc)},
			reason:   "no application left",
		},
		{
			name:    "blocked application 6283 is skipped",
			amount:  100,
			answers: map[string]string{selPPSE: ppseFCI([4]string{visa, "VISA", "01", ""}), sel(visa): "6283"},
			outcome: EndApplication,
			aid:     visa,
			reason:  "6283",
		},
		{
			name:    "kernel id from 9F2A",
			amount:  100,
			answers: map[string]string{selPPSE: ppseFCI([4]string{"A0000000421010", "CB", "01", "03"}), sel("A0000000421010"): fci("A0000000421010", "CB"), "80A8": "6A81"},
			outcome: EndApplication,
			aid:     "A0000000421010",
			kernel:  "C-3",
		},
		{
			name:    "no PPSE: list of AIDs with partial selection",
			amount:  100,
			answers: map[string]string{selPPSE: "6A82", sel("A0000000031010"): fci("A000000003101001", "VISA X"), "80A8": "6A81"},
			outcome: EndApplication,
			aid:     "A000000003101001",
			kernel:  "C-3",
		},
		{
			name:    "no matching application",
			amount:  100,
			answers: map[string]string{selPPSE: ppseFCI([4]string{"A0000009991010", "X", "01", ""})},
			outcome: EndApplication,
			reason:  "no application",
		},
		{
			name:    "malformed FCI selects next",
			amount:  100,
			answers: map[string]string{selPPSE: ppseFCI([4]string{visa, "VISA", "01", ""}), sel(visa): "6F 10 84 07 9000"},
			outcome: EndApplication,
			reason:  "FCI",
		},
		{
			name:    "malformed PPSE falls back to the AID list",
			amount:  100,
			answers: map[string]string{selPPSE: "6F FF 9000"},
			outcome: EndApplication,
			reason:  "no application",
		},
		{
			name:    "GPO answer of the wrong template",
			amount:  100,
			answers: map[string]string{selPPSE: ppseFCI([4]string{visa, "VISA", "01", ""}), sel(visa): fci(visa, "VISA"), "80A8": "700457021234 9000"},
			outcome: EndApplication,
			reason:  "template 70",
		},
		{
			name:    "GPO 61xx chain is followed",
			amount:  100,
			answers: map[string]string{selPPSE: ppseFCI([4]string{visa, "VISA", "01", ""}), sel(visa): fci(visa, "VISA"), "80A8": "6102", "00C0000002": "8000 9000"},
			outcome: EndApplication,
			reason:  "format 1",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := &scripted{answers: tc.answers}
			term := &Terminal{Config: DefaultConfig()}
			res, err := term.Run(context.Background(), card, Transaction{Amount: tc.amount})
			if err != nil {
				t.Fatal(err)
			}
			rep := res.Report()
			if res.Outcome != tc.outcome || (tc.aid != "" && string(rep.AID) != tc.aid) || (tc.kernel != "" && string(rep.Kernel) != tc.kernel) || !strings.Contains(res.Reason, tc.reason) {
				t.Fatalf("got %s aid %s kernel %s reason %q; want %s %s %s %q\nsent %v", res.Outcome, rep.AID, rep.Kernel, res.Reason, tc.outcome, tc.aid, tc.kernel, tc.reason, card.sent)
			}
			for _, w := range tc.sentHave {
				found := false
				for _, s := range card.sent {
					found = found || strings.HasPrefix(s, w)
				}
				if !found {
					t.Errorf("command %s not sent; sent %v", w, card.sent)
				}
			}
			if res.Commands != len(card.sent) {
				t.Errorf("Commands = %d, sent %d", res.Commands, len(card.sent))
			}
		})
	}
}

func TestCardRemovedIsAnError(t *testing.T) {
	removed := errors.New("card removed")
	term := &Terminal{Config: DefaultConfig()}
	_, err := term.Run(context.Background(), &scripted{fail: removed}, Transaction{Amount: 100})
	if !errors.Is(err, ErrNoCard) || !errors.Is(err, removed) {
		t.Fatalf("err = %v", err)
	}
}

func TestPreprocessTTQ(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AIDs[0].FloorLimit = 1000
	term := &Terminal{Config: cfg}
	for _, tc := range []struct {
		amount int64
		ttq    string
		cvm    bool
	}{
		// Byte 1 bit 1: ODA for online authorisations supported.
		{500, "37004000", false},
		{1500, "37804000", false}, // above floor: online cryptogram required
		{5000, "37C04000", true},  // at the CVM limit: CVM required too
		{0, "37804000", false},    // zero amount: online only
	} {
		s := &session{t: term, tx: Transaction{Amount: tc.amount}}
		p := s.preprocess(&cfg.AIDs[0])
		if hex.EncodeToString(p.ttq) != strings.ToLower(tc.ttq) || p.cvmRequired != tc.cvm {
			t.Errorf("amount %d: ttq %X cvm %v, want %s %v", tc.amount, p.ttq, p.cvmRequired, tc.ttq, tc.cvm)
		}
	}
}

func TestCVMList(t *testing.T) {
	// X = 50.00: online PIN over X, signature, then no CVM.
	list := "00001388 00000000 4207 1E03 1F03"
	for _, tc := range []struct {
		name   string
		amount int64
		list   string
		want   string
		tvr3   byte
	}{
		{"below CVM limit needs none", 100, list, "no_cvm", 0},
		{"over X online PIN", 6000, list, "online_pin", bitOnlinePIN},
		{"under X signature", 5000, list, "signature", 0},
		{"offline PIN only fails", 6000, "00000000 00000000 0100", "", bitCVMFailed},
		{"fail CVM rule", 6000, "00000000 00000000 0000 1F00", "", bitCVMFailed},
		{"apply next after unsupported", 6000, "00000000 00000000 4100 1E00", "signature", 0},
		{"short list", 6000, "0000", "", bitCVMFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			s := &session{t: &Terminal{Config: cfg}, tx: Transaction{Amount: tc.amount, Currency: 978}}
			s.cand = &candidate{cfg: &cfg.AIDs[3], kernel: KernelC2, pre: s.preprocess(&cfg.AIDs[3])}
			s.res = &Result{}
			s.resetApp()
			s.icc[0x8E] = hx(tc.list)
			s.icc[0x9F42] = hx("0978")
			s.cardholderVerification(hx("1980"))
			if s.res.CVM != tc.want || s.tvr[2] != tc.tvr3 {
				t.Fatalf("cvm %q tvr3 %02X, want %q %02X", s.res.CVM, s.tvr[2], tc.want, tc.tvr3)
			}
		})
	}
}

func TestActionAnalysis(t *testing.T) {
	for _, tc := range []struct {
		name   string
		online bool
		tvr    [5]byte
		iacDen string
		want   byte
	}{
		{"clean, online capable", true, [5]byte{}, "", 0x40},
		{"floor exceeded goes online", true, [5]byte{3: 0x80}, "", 0x80},
		{"IAC denial hit", true, [5]byte{1: 0x40}, "0040000000", 0x00},
		{"offline only, default hit declines", false, [5]byte{3: 0x80}, "", 0x00},
		{"offline only, clean approves", false, [5]byte{}, "", 0x40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.OnlineCapable = tc.online
			s := &session{t: &Terminal{Config: cfg}, icc: map[tlv.Tag][]byte{}, tvr: tc.tvr}
			s.cand = &candidate{cfg: &cfg.AIDs[3], kernel: KernelC2}
			if tc.iacDen != "" {
				s.icc[0x9F0E] = hx(tc.iacDen)
			}
			if got := s.actionAnalysis(); got != tc.want {
				t.Fatalf("P1 %02X, want %02X", got, tc.want)
			}
		})
	}
}

func TestScheme(t *testing.T) {
	for _, tc := range []struct {
		aid, pan, want string
	}{
		{"A0000000031010", "", "visa"},
		{"A0000000043060", "", "maestro"},
		{"A0000000421010", "4999999999999999", "visa"},
		{"A0000000421010", "5599999999999999", "mastercard"},
		{"A000000333010101", "", "unionpay"},
		{"D27600002547410100", "", "girocard"},
		{"A0000009999999", "", "other"},
	} {
		if got := schemeFor(hx(tc.aid), nil, tc.pan, nil); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.aid, tc.pan, got, tc.want)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"country_code": 826, "currency_code": 826, "aids": [{"aid": "A0000000031010", "scheme": "visa", "kernel": 3, "ttq": "36004000", "cvm_required_limit": 10000}]}`), 0o600)
	c, err := LoadConfig(good)
	if err != nil {
		t.Fatal(err)
	}
	if c.CountryCode != 826 || len(c.AIDs) != 1 || !bytes.Equal(c.AIDs[0].TTQ, hx("36004000")) || c.TerminalType != 0x22 {
		t.Fatalf("config %+v", c)
	}
	for name, body := range map[string]string{
		"unknown field": `{"colour": 1}`,
		"bad ttq":       `{"aids": [{"aid": "A0000000031010", "ttq": "36"}]}`,
		"bad kernel":    `{"aids": [{"aid": "A0000000031010", "kernel": 9}]}`,
		"bad hex":       `{"aids": [{"aid": "XYZ"}]}`,
		"empty aids":    `{"aids": []}`,
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := LoadConfig(p); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
	}
}

func TestTerminalDataDate(t *testing.T) {
	s := &session{t: &Terminal{Config: DefaultConfig()}, tx: Transaction{Amount: 1234, Currency: 978, Date: time.Date(2026, 1, 15, 10, 30, 5, 0, time.UTC)}, un: hx("01020304")}
	d := s.terminalData()
	if !bytes.Equal(d[0x9A], hx("260115")) || !bytes.Equal(d[0x9F21], hx("103005")) || !bytes.Equal(d[0x9F02], hx("000000001234")) || !bytes.Equal(d[0x5F2A], hx("0978")) || !bytes.Equal(d[0x9F1A], hx("0250")) {
		t.Fatalf("terminal data %X %X %X", d[0x9A], d[0x9F02], d[0x9F1A])
	}
}

// 5F36 follows the transaction's currency, not the configured one: a yen
// payment on a euro terminal has no decimals, a dinar one three.
func TestTerminalDataCurrencyExponent(t *testing.T) {
	for cur, want := range map[uint16]byte{978: 2, 392: 0, 414: 3} {
		s := &session{t: &Terminal{Config: DefaultConfig()}, tx: Transaction{Amount: 1234, Currency: cur, Date: time.Now()}, un: hx("01020304")}
		if d := s.terminalData(); !bytes.Equal(d[0x5F36], []byte{want}) {
			t.Errorf("currency %d: 5F36 = %X, want %02X", cur, d[0x5F36], want)
		}
	}
}

func TestRunRefusesUnknownCurrency(t *testing.T) {
	term := &Terminal{Config: DefaultConfig()}
	if _, err := term.Run(context.Background(), &scripted{}, Transaction{Amount: 1, Currency: 999 - 1}); err == nil || !strings.Contains(err.Error(), "unknown currency") {
		t.Fatalf("Run with currency 998: %v", err)
	}
	cfg := DefaultConfig()
	cfg.CurrencyCode = 1
	if err := cfg.Validate(); !errors.Is(err, ErrConfig) {
		t.Fatalf("Validate with currency 001: %v", err)
	}
}

// Test CA keys have one switch, Config.TestKeys (a config file's
// "test_keys" and the CLI's --test-keys both set it).
func TestOneTestKeysSwitch(t *testing.T) {
	if _, ok := reflect.TypeOf(Terminal{}).FieldByName("TestKeys"); ok {
		t.Fatal("Terminal has its own TestKeys switch besides Config.TestKeys")
	}
}

// The default AID list covers the schemes a European, US and Asian
// terminal meets, each on its kernel, with partial selection.
func TestDefaultAIDList(t *testing.T) {
	cfg := DefaultConfig()
	for _, c := range []struct {
		cardAID string
		scheme  string
		kernel  Kernel
	}{
		{"A0000000031010", "visa", KernelC3},
		{"A0000000032010", "visa", KernelC3},
		{"A0000000980840", "visa", KernelC3},
		{"A0000000041010", "mastercard", KernelC2},
		{"A0000000043060", "maestro", KernelC2},
		{"A0000000042203", "maestro", KernelC2},
		{"A000000333010101", "unionpay", KernelC7},
		{"A000000333010102", "unionpay", KernelC7},
		{"A000000333010103", "unionpay", KernelC7},
		{"A00000002501", "amex", KernelGeneric},
		{"A0000000651010", "jcb", KernelGeneric},
		{"A0000001523010", "discover", KernelGeneric},
		{"A0000002771010", "interac", KernelGeneric},
		{"A0000003591010028001", "girocard", KernelGeneric},
		{"A00000005910100101", "girocard", KernelGeneric},
		{"D27600002547410100", "girocard", KernelGeneric},
		{"A0000000421010", "cb", KernelGeneric},
		{"A0000005241010", "rupay", KernelGeneric},
		{"A0000006581010", "mir", KernelGeneric},
		{"A0000006582010", "mir", KernelGeneric},
		{"A00000038410", "eftpos", KernelGeneric},
		{"A0000001211010", "dankort", KernelGeneric},
		{"D5780000021010", "bankaxept", KernelGeneric},
		{"A0000001410001", "pagobancomat", KernelGeneric},
	} {
		aid := hx(c.cardAID)
		var hit *AIDConfig
		for i := range cfg.AIDs {
			if aidMatches(&cfg.AIDs[i], aid) {
				hit = &cfg.AIDs[i]
				break
			}
		}
		if hit == nil {
			t.Errorf("%s: no entry of the default AID list matches", c.cardAID)
			continue
		}
		if hit.Scheme != c.scheme || hit.Kernel != c.kernel || !hit.PartialSelection {
			t.Errorf("%s: entry %X scheme %s kernel %v partial %v; want %s %v", c.cardAID, hit.AID, hit.Scheme, hit.Kernel, hit.PartialSelection, c.scheme, c.kernel)
		}
		// A card AID extended with a PIX suffix still selects it.
		if !aidMatches(hit, append(aid, 0x01)) && len(aid) < 16 {
			t.Errorf("%s: partial selection does not take %X01", c.cardAID, aid)
		}
	}
	for _, a := range cfg.AIDs {
		if a.Scheme == "amex" && a.SchemeKernel != KernelC4 || a.Scheme == "jcb" && a.SchemeKernel != KernelC5 || a.Scheme == "discover" && a.SchemeKernel != KernelC6 {
			t.Errorf("%X: scheme kernel %d", a.AID, a.SchemeKernel)
		}
	}
}
