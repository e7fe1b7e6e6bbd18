package cardsim

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"posagent/emv/cardsim/perso"
	"slices"
	"strings"
	"testing"

	"posagent/emv/arqc"
	"posagent/emv/oda"
	"posagent/emv/tlv"
	"posagent/reader"
)

func TestPresets(t *testing.T) {
	names := Presets()
	for _, want := range []string{"visa", "mastercard", "unionpay", "amex", "bad-tlv", "bad-length",
		"missing-pan", "bad-signature", "expired-cert", "gpo-6985", "wrong-answer", "blocked"} {
		if !slices.Contains(names, want) {
			t.Errorf("Presets() lacks %q", want)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p, err := Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != name || p.Description == "" {
				t.Errorf("Name %q, Description %q", p.Name, p.Description)
			}
			c, err := New(p)
			if err != nil {
				t.Fatal(err)
			}
			if c.ATC() != p.ATC {
				t.Errorf("ATC %04X, want %04X", c.ATC(), p.ATC)
			}
			// A preset is a fresh copy: changing it does not change the next.
			p.AID[0] = 0xFF
			q, _ := Preset(name)
			if q.AID[0] != 0xA0 {
				t.Errorf("Preset shares its AID slice")
			}
		})
	}
	if _, err := Preset("no-such-card"); !errors.Is(err, ErrUnknownPreset) {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestNewRefusesBadProfiles(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*Profile)
		field string
	}{
		{"kind", func(p *Profile) { p.Kind = "msd" }, "Kind"},
		{"short AID", func(p *Profile) { p.AID = []byte{0xA0, 0} }, "AID"},
		{"PAN letters", func(p *Profile) { p.PAN = "47617390010100AB" }, "PAN"},
		{"PAN short", func(p *Profile) { p.PAN = "4761" }, "PAN"},
		{"expiry month 13", func(p *Profile) { p.Expiry = "301331" }, "Expiry"},
		{"expiry MMYY", func(p *Profile) { p.Expiry = "1230" }, "Expiry"},
		{"effective", func(p *Profile) { p.Effective = "" }, "Effective"},
		{"cert expiry", func(p *Profile) { p.CertExpiry = "12/31" }, "CertExpiry"},
		{"label", func(p *Profile) { p.Label = strings.Repeat("X", 17) }, "Label"},
		{"PSN not BCD", func(p *Profile) { p.PSN = 0x0A }, "PSN"},
		{"currency", func(p *Profile) { p.Currency = 1000 }, "Country/Currency"},
		{"negative limit", func(p *Profile) { p.OfflineLimit = -1 }, "OfflineLimit/CVMLimit"},
		{"fault", func(p *Profile) { p.Fault = numFaults }, "Fault"},
		{"PDOL malformed", func(p *Profile) { p.PDOL = []byte{0x9F} }, "PDOL"},
		{"PDOL without TTQ", func(p *Profile) { p.PDOL = []byte{0x9F, 0x37, 0x04} }, "PDOL"},
		{"CVM list", func(p *Profile) { p.CVMList = []byte{0, 0, 0, 0, 0, 0, 0, 0, 0x1F} }, "CVMList"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := Preset("visa")
			tc.edit(&p)
			_, err := New(p)
			var pe *ProfileError
			if !errors.As(err, &pe) || !errors.Is(err, ErrProfile) {
				t.Fatalf("New = %v, want a *ProfileError", err)
			}
			if pe.Field != tc.field {
				t.Errorf("field %q, want %q", pe.Field, tc.field)
			}
			if strings.Contains(err.Error(), "4761739001010010") {
				t.Errorf("error shows the PAN: %v", err)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	for _, name := range []string{"visa", "visa-mobile", "mastercard", "unionpay", "amex"} {
		t.Run(name, func(t *testing.T) {
			c := newCard(t, name)
			m := newTerminal(t, c, 100, ttqOffline)
			ppse := m.parse(m.mustOK(reader.Select(ppseName)))
			if ppse[0].Tag != 0x6F || string(tlv.Value(ppse, 0x84)) != "2PAY.SYS.DDF01" {
				t.Fatalf("PPSE FCI %X", ppse[0].Tag)
			}
			entry, ok := tlv.Find(ppse, 0x61)
			if !ok {
				t.Fatal("no directory entry 61")
			}
			if got := tlv.Value(entry.Children, 0x4F); !bytes.Equal(got, c.p.AID) {
				t.Errorf("4F % X, want % X", got, c.p.AID)
			}
			if got := tlv.Value(entry.Children, 0x9F2A); !bytes.Equal(got, []byte{c.p.KernelID}) {
				t.Errorf("9F2A % X, want %02X", got, c.p.KernelID)
			}
			if got := string(tlv.Value(entry.Children, 0x50)); got != c.p.Label {
				t.Errorf("50 %q", got)
			}
			// Partial selection with the RID and one more byte.
			fci := m.parse(m.mustOK(reader.Select(c.p.AID[:6])))
			if got := tlv.Value(fci, 0x84); !bytes.Equal(got, c.p.AID) {
				t.Errorf("84 % X", got)
			}
			if a5, ok := tlv.Find(fci, 0xA5); !ok || tlv.Value(a5.Children, 0x50) == nil {
				t.Errorf("FCI without A5/50")
			}
			if got := tlv.Value(fci, 0x9F38); !bytes.Equal(got, c.p.PDOL) {
				t.Errorf("9F38 % X, want % X", got, c.p.PDOL)
			}
			if _, sw := m.send(reader.SelectNext(c.p.AID[:6])); sw != reader.SWFileNotFound {
				t.Errorf("select next: %04X, want 6A82", uint16(sw))
			}
			for _, bad := range [][]byte{{0xA0, 0, 0, 0, 0x99}, append(slices.Clone(c.p.AID), 0x01), []byte("1PAY.SYS.DDF01")} {
				if _, sw := m.send(reader.Select(bad)); sw != reader.SWFileNotFound {
					t.Errorf("select % X: %04X, want 6A82", bad, uint16(sw))
				}
			}
		})
	}
}

func TestQGPO(t *testing.T) {
	cases := []struct {
		name     string
		preset   string
		amount   int64
		ttq      []byte
		cid      byte
		ctq      [2]byte
		wantSDAD bool
		edit     func(*Profile)
	}{
		{"visa offline", "visa", 2000, ttqOffline, cidTC, [2]byte{0x20, 0}, true, nil},
		{"visa at the offline limit", "visa", 5000, ttqOffline, cidTC, [2]byte{0x20, 0}, true, nil},
		{"visa above the offline limit", "visa", 5001, ttqOffline, cidARQC, [2]byte{0x20, 0}, false, nil},
		{"visa online required", "visa", 100, ttqOnline, cidARQC, [2]byte{0x20, 0}, false, nil},
		{"visa online with ODA", "visa", 100, ttqODAOnline, cidARQC, [2]byte{0x20, 0}, true, nil},
		{"visa CVM online PIN", "visa", 3000, ttqCVMRequired, cidARQC, [2]byte{0xA0, 0}, false, nil},
		{"visa CVM signature", "visa", 3000, ttqSigOnly, cidTC, [2]byte{0x60, 0}, true, nil},
		{"visa offline-only reader", "visa", 100, ttqOfflineOnly, cidTC, [2]byte{0x20, 0}, true, nil},
		{"visa offline-only reader above", "visa", 9000, ttqOfflineOnly, cidAAC, [2]byte{0x20, 0}, false, nil},
		{"mobile CDCVM", "visa-mobile", 3000, ttqCVMRequired, cidTC, [2]byte{0x20, 0x80}, true, nil},
		{"online-only card", "visa-online-only", 100, ttqOffline, cidARQC, [2]byte{0x20, 0}, false, nil},
		{"unionpay offline", "unionpay", 1000, ttqOffline, cidTC, [2]byte{}, true, nil},
		{"unionpay online", "unionpay", 10000, ttqOffline, cidARQC, [2]byte{}, false, nil},
		{"expired card", "expired-card", 100, ttqOffline, cidAAC, [2]byte{0x20, 0}, false, nil},
		{"not yet effective", "visa", 100, ttqOffline, cidAAC, [2]byte{0x20, 0}, false, func(p *Profile) { p.Effective = "270101" }},
		{"AIP without fDDA", "visa", 100, ttqOffline, cidTC, [2]byte{0x20, 0}, false, func(p *Profile) { p.AIP = [2]byte{} }},
		{"custom card under its limit", "visa", 100, ttqOffline, cidTC, [2]byte{0x20, 0}, true, func(p *Profile) {
			p.PAN, p.Expiry, p.PSN, p.OfflineLimit = "4000123456789010017", "290630", 0x02, 150
		}},
		{"custom card over its limit", "visa", 151, ttqOffline, cidARQC, [2]byte{0x20, 0}, false, func(p *Profile) {
			p.PAN, p.Expiry, p.PSN, p.OfflineLimit = "4000123456789010017", "290630", 0x02, 150
		}},
		{"foreign currency", "unionpay", 100, ttqOffline, cidARQC, [2]byte{}, false, func(p *Profile) { p.Currency = 156 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Preset(tc.preset)
			if err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				tc.edit(&p)
			}
			c, err := New(p)
			if err != nil {
				t.Fatal(err)
			}
			atc0 := c.ATC()
			m := newTerminal(t, c, tc.amount, tc.ttq)
			m.selectApp()
			objs := m.gpo()
			if objs[0].Tag != 0x77 {
				t.Fatalf("GPO template %s, want 77", objs[0].Tag)
			}
			for _, tag := range []tlv.Tag{0x82, 0x94, 0x57, 0x5F34, 0x9F10, 0x9F26, 0x9F27, 0x9F36, 0x9F69, 0x9F6C} {
				if _, ok := m.icc[tag]; !ok {
					t.Errorf("GPO answer lacks %s", tag)
				}
			}
			if _, ok := m.icc[0x9F6E]; ok != (c.p.Scheme == "visa") {
				t.Errorf("9F6E present %v for scheme %s", ok, c.p.Scheme)
			}
			if got := m.icc[0x9F27]; !bytes.Equal(got, []byte{tc.cid}) {
				t.Errorf("CID % X, want %02X", got, tc.cid)
			}
			if iad := m.icc[0x9F10]; len(iad) < 5 || iad[4]&0x30 != tc.cid>>2 {
				t.Errorf("IAD % X does not carry the AC type %02X", iad, tc.cid)
			}
			if got := m.icc[0x9F6C]; !bytes.Equal(got, tc.ctq[:]) {
				t.Errorf("CTQ % X, want % X", got, tc.ctq)
			}
			if c.ATC() != atc0+1 || !bytes.Equal(m.icc[0x9F36], []byte{byte(c.ATC() >> 8), byte(c.ATC())}) {
				t.Errorf("ATC %04X (9F36 % X), want %04X", c.ATC(), m.icc[0x9F36], atc0+1)
			}
			if !bytes.Equal(m.icc[0x82], c.p.AIP[:]) {
				t.Errorf("AIP % X", m.icc[0x82])
			}
			verifyAC(t, m, m.icc[0x9F26])

			m.readRecords()
			if got := m.icc[0x5A]; !bytes.Equal(got, bcdDigits(c.p.PAN)) {
				t.Errorf("5A does not hold the PAN")
			}
			if !strings.HasPrefix(strings.ToUpper(hex.EncodeToString(m.icc[0x57])), c.p.PAN+"D"+c.p.Expiry[:4]) {
				t.Errorf("57 does not start with PAN D YYMM")
			}
			sdad, ok := m.icc[0x9F4B]
			if ok != tc.wantSDAD {
				t.Fatalf("SDAD present %v, want %v", ok, tc.wantSDAD)
			}
			if !ok {
				return
			}
			key, err := m.iccKey()
			if err != nil {
				t.Fatalf("ICC key: %v", err)
			}
			num, err := oda.VerifyFDDA(*key, sdad, m.values[0x9F37], m.values[0x9F02], m.values[0x5F2A], m.icc[0x9F69])
			if err != nil {
				t.Fatalf("fDDA: %v", err)
			}
			if !bytes.Equal(num, m.icc[0x9F36]) {
				t.Errorf("ICC dynamic number % X, want the ATC % X", num, m.icc[0x9F36])
			}
		})
	}
}

// verifyAC checks a cryptogram as the issuer does, from the terminal data
// and the card's AIP, ATC and IAD, with the scheme's test master key.
func verifyAC(t *testing.T, m *terminal, ac []byte) {
	t.Helper()
	if len(ac) != 8 {
		t.Fatalf("AC % X", ac)
	}
	data, err := arqc.Input(func(tag uint32) []byte {
		if v, ok := m.values[tlv.Tag(tag)]; ok {
			return v
		}
		return m.icc[tlv.Tag(tag)]
	})
	if err != nil {
		t.Fatal(err)
	}
	imk, ok := perso.TestMasterKey(keyScheme(m.card.p.Scheme))
	if !ok {
		t.Fatal("no test master key")
	}
	atc := m.icc[0x9F36]
	if !arqc.Verify(imk, m.card.p.PAN, m.card.p.PSN, [2]byte{atc[0], atc[1]}, data, [8]byte(ac)) {
		t.Errorf("AC does not verify with the %s test master key", m.card.p.Scheme)
	}
	wrong := slices.Clone(data)
	wrong[5] ^= 0x01 // another amount
	if arqc.Verify(imk, m.card.p.PAN, m.card.p.PSN, [2]byte{atc[0], atc[1]}, wrong, [8]byte(ac)) {
		t.Errorf("AC verifies over other data")
	}
}

func TestGenerateAC(t *testing.T) {
	cases := []struct {
		name   string
		preset string
		amount int64
		p1     byte
		tvr    []byte
		tt     byte // terminal type 9F35
		cid    byte
		cda    bool
	}{
		{"mastercard TC with CDA", "mastercard", 1000, 0x50, nil, 0x22, cidTC, true},
		{"mastercard TC without CDA", "mastercard", 1000, 0x40, nil, 0x22, cidTC, false},
		{"mastercard TC above the limit", "mastercard", 6000, 0x50, nil, 0x22, cidARQC, true},
		{"mastercard TC above the limit offline-only", "mastercard", 6000, 0x50, nil, 0x23, cidAAC, false},
		{"mastercard TC after failed ODA", "mastercard", 1000, 0x40, []byte{0x04, 0, 0, 0, 0}, 0x22, cidARQC, false},
		{"mastercard ARQC with CDA", "mastercard", 1000, 0x90, nil, 0x22, cidARQC, true},
		{"mastercard AAC asked", "mastercard", 1000, 0x10, nil, 0x22, cidAAC, false},
		{"amex TC with CDA", "amex", 1000, 0x50, nil, 0x22, cidTC, true},
		{"amex ARQC", "amex", 1000, 0x80, nil, 0x22, cidARQC, false},
		{"amex-dda CDA asked but not offered", "amex-dda", 1000, 0x50, nil, 0x22, cidTC, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCard(t, tc.preset)
			m := newTerminal(t, c, tc.amount, nil)
			if tc.tvr != nil {
				m.values[0x95] = tc.tvr
			}
			m.values[0x9F35] = []byte{tc.tt}
			m.selectApp()
			gpo := m.gpo()
			wantGPO := tlv.Tag(0x77)
			if c.p.Kind == KindGeneric {
				wantGPO = 0x80
			}
			if gpo[0].Tag != wantGPO {
				t.Fatalf("GPO template %s, want %s", gpo[0].Tag, wantGPO)
			}
			m.readRecords()
			for _, tag := range []tlv.Tag{0x5A, 0x57, 0x5F24, 0x5F34, 0x8C, 0x8D, 0x8E, 0x9F0D, 0x9F0E, 0x9F0F, 0x8F, 0x90, 0x9F32, 0x9F46, 0x9F47} {
				if _, ok := m.icc[tag]; !ok {
					t.Errorf("records lack %s", tag)
				}
			}
			objs, sw := m.generateAC(tc.p1, 0x8C)
			if sw != reader.SWOK {
				t.Fatalf("GENERATE AC: %04X", uint16(sw))
			}
			if len(objs) != 1 || objs[0].Tag != 0x77 {
				t.Fatalf("GENERATE AC answer is not one 77 template")
			}
			resp := objs[0].Children
			cid := tlv.Value(resp, 0x9F27)
			if !bytes.Equal(cid, []byte{tc.cid}) {
				t.Fatalf("CID % X, want %02X", cid, tc.cid)
			}
			m.icc[0x9F36], m.icc[0x9F10] = tlv.Value(resp, 0x9F36), tlv.Value(resp, 0x9F10)
			sdad := tlv.Value(resp, 0x9F4B)
			if (sdad != nil) != tc.cda || (tlv.Value(resp, 0x9F26) == nil) != tc.cda {
				t.Fatalf("9F4B present %v, 9F26 present %v; want CDA %v", sdad != nil, tlv.Value(resp, 0x9F26) != nil, tc.cda)
			}
			ac := tlv.Value(resp, 0x9F26)
			if tc.cda {
				key, err := m.iccKey()
				if err != nil {
					t.Fatalf("ICC key: %v", err)
				}
				var rest []byte
				for _, o := range resp {
					if o.Tag != 0x9F4B {
						rest = tlv.Append(rest, o.Tag, o.Value)
					}
				}
				ac, _, err = oda.VerifyCDA(*key, sdad, m.values[0x9F37], cid[0], m.pdol, m.cdol, rest)
				if err != nil {
					t.Fatalf("CDA: %v", err)
				}
			}
			verifyAC(t, m, ac)
			if c.ATC() != c.p.ATC+1 {
				t.Errorf("ATC %04X, want %04X", c.ATC(), c.p.ATC+1)
			}
		})
	}
}

func TestSecondGenerateAC(t *testing.T) {
	cases := []struct {
		name string
		arc  string
		p1   byte
		cid  byte
		sw   reader.SW
	}{
		{"approved", "00", 0x40, cidTC, reader.SWOK},
		{"declined by the issuer", "05", 0x40, cidAAC, reader.SWOK},
		{"terminal asks AAC", "00", 0x00, cidAAC, reader.SWOK},
		{"ARQC not allowed", "00", 0x80, 0, swIncorrectP1P2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCard(t, "mastercard")
			m := newTerminal(t, c, 1000, nil)
			m.selectApp()
			m.gpo()
			m.readRecords()
			objs, _ := m.generateAC(0x80, 0x8C)
			if got := tlv.Value(objs, 0x9F27); !bytes.Equal(got, []byte{cidARQC}) {
				t.Fatalf("first CID % X", got)
			}
			m.values[0x8A] = []byte(tc.arc)
			m.values[0x9F37] = []byte{1, 2, 3, 4}
			objs, sw := m.generateAC(tc.p1, 0x8D)
			if sw != tc.sw {
				t.Fatalf("SW %04X, want %04X", uint16(sw), uint16(tc.sw))
			}
			if sw != reader.SWOK {
				return
			}
			if got := tlv.Value(objs, 0x9F27); !bytes.Equal(got, []byte{tc.cid}) {
				t.Errorf("second CID % X, want %02X", got, tc.cid)
			}
			if iad := tlv.Value(objs, 0x9F10); len(iad) != 18 || iad[2] != cidARQC>>2|tc.cid {
				t.Errorf("IAD CVR byte 1 % X", iad)
			}
			if _, sw := m.generateAC(0x40, 0x8D); sw != reader.SWConditionsNotSatisf {
				t.Errorf("third GENERATE AC: %04X, want 6985", uint16(sw))
			}
		})
	}
}

func TestInternalAuthenticate(t *testing.T) {
	for _, name := range []string{"amex", "amex-dda"} {
		t.Run(name, func(t *testing.T) {
			c := newCard(t, name)
			m := newTerminal(t, c, 1000, nil)
			m.selectApp()
			m.gpo()
			m.readRecords()
			ddol, err := tlv.ParseDOL(m.icc[0x9F49])
			if err != nil || !ddol.Has(0x9F37) {
				t.Fatalf("DDOL % X: %v", m.icc[0x9F49], err)
			}
			data := ddol.Build(m.get)
			resp := m.mustOK(reader.InternalAuthenticate(data))
			objs := m.parse(resp)
			if objs[0].Tag != 0x80 {
				t.Fatalf("template %s", objs[0].Tag)
			}
			key, err := m.iccKey()
			if err != nil {
				t.Fatal(err)
			}
			num, err := oda.VerifyDDA(*key, objs[0].Value, data)
			if err != nil {
				t.Fatalf("DDA: %v", err)
			}
			if len(num) != 8 {
				t.Errorf("ICC dynamic number of %d bytes", len(num))
			}
			if _, err := oda.VerifyDDA(*key, objs[0].Value, []byte{0, 0, 0, 0}); !errors.Is(err, oda.ErrHash) {
				t.Errorf("DDA over other data: %v, want ErrHash", err)
			}
			if _, sw := m.send(reader.InternalAuthenticate([]byte{1, 2})); sw != reader.SWWrongLength {
				t.Errorf("short DDOL data: %04X", uint16(sw))
			}
		})
	}
}

func TestStatusWords(t *testing.T) {
	visa, _ := Preset("visa")
	aidSel := append([]byte{0x00, 0xA4, 0x04, 0x00, byte(len(visa.AID))}, visa.AID...)
	pdolData := make([]byte, 33) // TTQ, amounts, country, TVR, currency, date, type, UN
	copy(pdolData, ttqOffline)
	gpo := append([]byte{0x80, 0xA8, 0x00, 0x00, 35, 0x83, 33}, pdolData...)
	mc, _ := Preset("mastercard")
	mcSel := append([]byte{0x00, 0xA4, 0x04, 0x00, byte(len(mc.AID))}, mc.AID...)
	mcGPO := []byte{0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00}
	genAC := func(p1 byte, n int) []byte {
		return append(append([]byte{0x80, 0xAE, p1, 0x00, byte(n)}, make([]byte, n)...), 0x00)
	}
	cases := []struct {
		name   string
		preset string   // "visa" when empty
		before [][]byte // commands first, answers not checked
		cmd    string
		raw    []byte
		sw     uint16
	}{
		{name: "GENERATE AC before GPO", preset: "mastercard", before: [][]byte{mcSel}, raw: genAC(0x40, 43), sw: 0x6985},
		{name: "GENERATE AC short CDOL1 data", preset: "mastercard", before: [][]byte{mcSel, mcGPO}, raw: genAC(0x40, 42), sw: 0x6700},
		{name: "GENERATE AC without data", preset: "mastercard", before: [][]byte{mcSel, mcGPO}, cmd: "80AE400000", sw: 0x6700},
		{name: "GENERATE AC type C0", preset: "mastercard", before: [][]byte{mcSel, mcGPO}, raw: genAC(0xC0, 43), sw: 0x6A86},
		{name: "GENERATE AC RFU bit", preset: "mastercard", before: [][]byte{mcSel, mcGPO}, raw: genAC(0x41, 43), sw: 0x6A86},
		{name: "GENERATE AC twice after a TC", preset: "mastercard", before: [][]byte{mcSel, mcGPO, genAC(0x40, 43)}, raw: genAC(0x40, 10), sw: 0x6985},
		{name: "GENERATE AC good", preset: "mastercard", before: [][]byte{mcSel, mcGPO}, raw: genAC(0x80, 43), sw: 0x9000},
		{name: "INTERNAL AUTHENTICATE without DDA", preset: "mastercard", before: [][]byte{mcSel, mcGPO}, cmd: "0088000004DEADBEEF00", sw: 0x6D00},
		{name: "INTERNAL AUTHENTICATE before GPO", preset: "amex", before: [][]byte{{0x00, 0xA4, 0x04, 0x00, 0x06, 0xA0, 0, 0, 0, 0x25, 0x01}}, cmd: "0088000004DEADBEEF00", sw: 0x6985},
		{name: "GPO format 1 card, wrong data", preset: "amex", before: [][]byte{{0x00, 0xA4, 0x04, 0x00, 0x06, 0xA0, 0, 0, 0, 0x25, 0x01}}, cmd: "80A80000038301FF00", sw: 0x6700},
		{name: "empty", raw: []byte{}, sw: 0x6700},
		{name: "three bytes", cmd: "00A404", sw: 0x6700},
		{name: "Lc longer than data", cmd: "00A404000E3250", sw: 0x6700},
		{name: "extended length", cmd: "00A40400000E325041592E5359532E4444463031", sw: 0x6700},
		{name: "bad class", cmd: "A0A404000E325041592E5359532E444446303100", sw: 0x6E00},
		{name: "bad class short", cmd: "FF00", sw: 0x6E00},
		{name: "proprietary class on SELECT", cmd: "80A404000E325041592E5359532E444446303100", sw: 0x6E00},
		{name: "unknown instruction", cmd: "00200080", sw: 0x6D00},
		{name: "SELECT by file id", cmd: "00A40000023F00", sw: 0x6A86},
		{name: "SELECT without name", cmd: "00A4040000", sw: 0x6700},
		{name: "READ RECORD before GPO", before: [][]byte{aidSel}, cmd: "00B2010C00", sw: 0x6985},
		{name: "READ RECORD bad P2", before: [][]byte{aidSel, gpo}, cmd: "00B2010800", sw: 0x6A86},
		{name: "READ RECORD record 0", before: [][]byte{aidSel, gpo}, cmd: "00B2000C00", sw: 0x6A86},
		{name: "READ RECORD missing", before: [][]byte{aidSel, gpo}, cmd: "00B2090C00", sw: 0x6A83},
		{name: "READ RECORD with data", before: [][]byte{aidSel, gpo}, cmd: "00B2010C0100", sw: 0x6700},
		{name: "READ RECORD short Le", before: [][]byte{aidSel, gpo}, cmd: "00B2010C05", sw: 0x6C00 | uint16(len(mustRecord(t, "visa", 1, 1)))},
		{name: "GPO without application", cmd: "80A8000002830000", sw: 0x6985},
		{name: "GPO twice", before: [][]byte{aidSel, gpo}, raw: gpo, sw: 0x6985},
		{name: "GPO wrong PDOL length", before: [][]byte{aidSel}, cmd: "80A80000028300", sw: 0x6700},
		{name: "GPO not 83", before: [][]byte{aidSel}, cmd: "80A80000027000", sw: 0x6A80},
		{name: "GPO bad P1", before: [][]byte{aidSel}, cmd: "80A8010002830000", sw: 0x6A86},
		{name: "GPO reader without qVSDC", before: [][]byte{aidSel}, raw: append([]byte{0x80, 0xA8, 0x00, 0x00, 35, 0x83, 33}, append(slices.Clone(ttqNoQVSDC), make([]byte, 29)...)...), sw: 0x6985},
		{name: "GENERATE AC on a qVSDC card", before: [][]byte{aidSel, gpo}, cmd: "80AE400000", sw: 0x6D00},
		{name: "INTERNAL AUTHENTICATE on a qVSDC card", before: [][]byte{aidSel, gpo}, cmd: "0088000004DEADBEEF00", sw: 0x6D00},
		{name: "GET DATA ATC", before: [][]byte{aidSel}, cmd: "80CA9F3600", sw: 0x9000},
		{name: "GET DATA unknown", before: [][]byte{aidSel}, cmd: "80CA9F7F00", sw: 0x6A88},
		{name: "GET DATA before SELECT", cmd: "80CA9F3600", sw: 0x6985},
		{name: "GET RESPONSE with nothing pending", cmd: "00C0000000", sw: 0x6985},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			preset := tc.preset
			if preset == "" {
				preset = "visa"
			}
			c := newCard(t, preset)
			for _, b := range tc.before {
				if _, err := c.Transmit(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
			cmd := tc.raw
			if tc.raw == nil {
				var err error
				if cmd, err = hex.DecodeString(tc.cmd); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := c.Transmit(context.Background(), cmd)
			if err != nil {
				t.Fatal(err)
			}
			_, sw, err := reader.SplitResponse(resp)
			if err != nil {
				t.Fatal(err)
			}
			if uint16(sw) != tc.sw {
				t.Errorf("SW %04X, want %04X", uint16(sw), tc.sw)
			}
		})
	}
}

// mustRecord returns a record of a fresh preset card.
func mustRecord(t *testing.T, preset string, sfi, rec byte) []byte {
	t.Helper()
	c := newCard(t, preset)
	r, ok := c.im.records[recKey(sfi, rec)]
	if !ok {
		t.Fatalf("%s has no record %d/%d", preset, sfi, rec)
	}
	return r
}

func TestATCAndReset(t *testing.T) {
	c := newCard(t, "visa")
	start := c.ATC()
	var acs [][]byte
	for i := range 3 {
		m := newTerminal(t, c, 100, ttqOffline)
		m.selectApp()
		m.gpo()
		if got := c.ATC(); got != start+uint16(i)+1 {
			t.Fatalf("after GPO %d: ATC %04X", i+1, got)
		}
		acs = append(acs, m.icc[0x9F26])
		c.Reset()
		if _, sw := m.send(reader.ReadRecord(1, 1)); sw != reader.SWConditionsNotSatisf {
			t.Errorf("READ RECORD after Reset: %04X, want 6985", uint16(sw))
		}
	}
	if bytes.Equal(acs[0], acs[1]) || bytes.Equal(acs[1], acs[2]) {
		t.Errorf("the same AC for two ATCs")
	}

	// A card at the end of its counter refuses GPO.
	p, _ := Preset("visa")
	p.ATC = 0xFFFF
	dead, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	m := newTerminal(t, dead, 100, ttqOffline)
	m.selectApp()
	pdol, _ := tlv.ParseDOL(m.icc[0x9F38])
	if _, sw := m.send(reader.GetProcessingOptions(tlv.Encode(0x83, pdol.Build(m.get)))); sw != reader.SWConditionsNotSatisf {
		t.Errorf("GPO at ATC FFFF: %04X, want 6985", uint16(sw))
	}
}

func TestTransmitContext(t *testing.T) {
	c := newCard(t, "visa")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00}); !errors.Is(err, context.Canceled) {
		t.Errorf("Transmit with a cancelled context: %v", err)
	}
}

func TestATR(t *testing.T) {
	atr := newCard(t, "visa").ATR()
	if len(atr) < 5 || atr[0] != 0x3B || atr[1]&0xF0 != 0x80 {
		t.Fatalf("ATR % X", atr)
	}
	var tck byte
	for _, b := range atr[1:] {
		tck ^= b
	}
	if tck != 0 {
		t.Errorf("ATR check byte wrong: % X", atr)
	}
	atr[0] = 0
	if newCard(t, "visa").ATR()[0] != 0x3B {
		t.Error("ATR shares its backing array")
	}
}

func TestNoPANInDescriptions(t *testing.T) {
	c := newCard(t, "visa")
	p := c.Profile()
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("card", "profile", p, "card", c)
	for name, s := range map[string]string{
		"Profile %v":  fmt.Sprintf("%v", p),
		"Profile %+v": fmt.Sprintf("%+v", p),
		"Profile %#v": fmt.Sprintf("%#v", p),
		"Card %v":     fmt.Sprintf("%v", c),
		"Card %#v":    fmt.Sprintf("%#v", c),
		"slog":        logged.String(),
	} {
		if strings.Contains(s, p.PAN) || strings.Contains(s, p.PAN[6:]) {
			t.Errorf("%s shows the PAN: %s", name, s)
		}
		if !strings.Contains(s, "476173") || !strings.Contains(s, "0010") {
			t.Errorf("%s lacks the masked PAN: %s", name, s)
		}
	}
	if got := p.MaskedPAN(); got != "476173******0010" {
		t.Errorf("MaskedPAN %q", got)
	}
}

func TestZeroCard(t *testing.T) {
	var c Card
	if _, err := c.Transmit(context.Background(), []byte{0x00, 0xA4, 0x04, 0x00}); !errors.Is(err, ErrNotPersonalised) {
		t.Errorf("zero Card: %v", err)
	}
	c.Reset()
}

// A short PAN is masked by emv/pan's rule: a 10-digit PAN is not shown whole.
func TestMaskedPANShort(t *testing.T) {
	p := Profile{PAN: "4761739001"}
	if got := p.MaskedPAN(); got != "******9001" {
		t.Errorf("MaskedPAN(10 digits) = %q", got)
	}
	if s := fmt.Sprint(p); strings.Contains(s, "4761739001") {
		t.Errorf("Profile prints %s", s)
	}
}
