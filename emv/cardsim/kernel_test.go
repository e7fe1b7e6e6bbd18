package cardsim_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"posagent/emv"
	"posagent/emv/arqc"
	"posagent/emv/capk"
	"posagent/emv/cardsim"
	"posagent/emv/tlv"
)

// TestKernelOutcomes runs the terminal's kernel (package emv) against every
// preset: the good cards reach the outcome their data call for, and every
// hostile card ends in a clear outcome (declined, end application, try
// again...), never a panic or a hang.
func TestKernelOutcomes(t *testing.T) {
	cfg := emv.DefaultConfig()
	cfg.TestKeys = true
	for i := range cfg.AIDs {
		cfg.AIDs[i].FloorLimit = 10000
	}
	keys := capk.Default()
	amex, _ := cardsim.Preset("amex")
	ca, err := cardsim.CA(amex)
	if err != nil {
		t.Fatal(err)
	}
	keys.Add(ca.CAPK())
	term := &emv.Terminal{
		Config: cfg, CAKeys: keys,
		Rand: bytes.NewReader(bytes.Repeat([]byte{0x5A, 0xC3, 0x11, 0x7E}, 1<<12)),
		Now:  func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) },
	}
	cases := []struct {
		preset     string
		amount     int64
		outcomes   []emv.Outcome
		cryptogram string
		oda        string // ODA result when set
		cvm        string // CVM when set
	}{
		{"visa", 1000, []emv.Outcome{emv.Approved}, "TC", emv.ODAOK, ""},
		// Online with fDDA (TTQ byte 1 bit 1, set by default).
		{"visa", 20000, []emv.Outcome{emv.OnlineRequest}, "ARQC", emv.ODAOK, ""},
		{"unionpay", 20000, []emv.Outcome{emv.OnlineRequest}, "ARQC", emv.ODAOK, ""},
		// A bad signature on an online authorisation: still online, flagged.
		{"bad-signature", 20000, []emv.Outcome{emv.OnlineRequest}, "ARQC", emv.ODAFailed, ""},
		{"visa", 6000, []emv.Outcome{emv.OnlineRequest}, "ARQC", "", "online_pin"},
		{"visa-mobile", 4000, []emv.Outcome{emv.Approved}, "TC", emv.ODAOK, "no_cvm"},
		{"visa-mobile", 6000, []emv.Outcome{emv.OnlineRequest}, "ARQC", "", "cdcvm"},
		{"visa-online-only", 1000, []emv.Outcome{emv.OnlineRequest}, "ARQC", "", ""},
		{"mastercard", 1000, []emv.Outcome{emv.Approved}, "TC", emv.ODAOK, ""},
		{"mastercard", 20000, []emv.Outcome{emv.OnlineRequest}, "ARQC", "", ""},
		{"unionpay", 1000, []emv.Outcome{emv.Approved}, "TC", emv.ODAOK, ""},
		// The kernel's generic path always goes online when it can.
		{"amex", 1000, []emv.Outcome{emv.OnlineRequest}, "ARQC", emv.ODAOK, ""},
		{"amex-dda", 1000, []emv.Outcome{emv.OnlineRequest}, "ARQC", emv.ODAOK, ""},
		{"expired-card", 1000, []emv.Outcome{emv.Declined}, "AAC", "", ""},
		{"bad-tlv", 1000, []emv.Outcome{emv.EndApplication}, "", "", ""},
		{"bad-length", 1000, []emv.Outcome{emv.EndApplication}, "", "", ""},
		{"missing-pan", 1000, []emv.Outcome{emv.EndApplication}, "", "", ""},
		{"record-not-found", 1000, []emv.Outcome{emv.EndApplication}, "", "", ""},
		{"bad-signature", 1000, []emv.Outcome{emv.Declined}, "TC", "", ""},
		{"bad-signature-cda", 1000, []emv.Outcome{emv.Declined}, "", "", ""},
		{"expired-cert", 1000, []emv.Outcome{emv.Declined}, "TC", "", ""},
		{"gpo-6985", 1000, []emv.Outcome{emv.SelectNext, emv.TryAnotherInterface, emv.EndApplication}, "", "", ""},
		{"wrong-answer", 1000, []emv.Outcome{emv.EndApplication}, "", "", ""},
		{"blocked", 1000, []emv.Outcome{emv.EndApplication, emv.TryAnotherInterface}, "", "", ""},
		{"unexpected-sw", 1000, []emv.Outcome{emv.EndApplication}, "", "", ""},
		{"removed", 1000, []emv.Outcome{emv.TryAgain}, "", "", ""},
		{"last-record-6985", 1000, []emv.Outcome{emv.EndApplication}, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%d", tc.preset, tc.amount), func(t *testing.T) {
			p, err := cardsim.Preset(tc.preset)
			if err != nil {
				t.Fatal(err)
			}
			card, err := cardsim.New(p)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := term.Run(ctx, card, emv.Transaction{Amount: tc.amount})
			if err != nil {
				if !slices.Contains(tc.outcomes, emv.TryAgain) || !errors.Is(err, cardsim.ErrRemoved) {
					t.Fatalf("Run: %v", err)
				}
				// The card left: the caller asks for it again, and then it
				// completes.
				card.Reset()
				if res, err = term.Run(ctx, card, emv.Transaction{Amount: tc.amount}); err != nil {
					t.Fatalf("presented again: %v", err)
				}
				if res.Outcome != emv.Approved {
					t.Fatalf("presented again: %v (%s)", res.Outcome, res.Reason)
				}
				return
			}
			t.Logf("outcome %v (%s), cryptogram %q, CVM %q", res.Outcome, res.Reason, res.Cryptogram, res.CVM)
			if !slices.Contains(tc.outcomes, res.Outcome) {
				t.Fatalf("outcome %v (%s; ODA %+v; TVR % X; %s %s), want one of %v", res.Outcome, res.Reason, res.ODA, res.TVR, res.Cryptogram, res.CVM, tc.outcomes)
			}
			if tc.cryptogram != "" && res.Cryptogram != tc.cryptogram {
				t.Errorf("cryptogram %q, want %q", res.Cryptogram, tc.cryptogram)
			}
			if tc.oda != "" && (res.ODA == nil || res.ODA.Result != tc.oda) {
				t.Errorf("ODA %+v, want %s", res.ODA, tc.oda)
			}
			if tc.cvm != "" && res.CVM != tc.cvm {
				t.Errorf("CVM %q, want %q", res.CVM, tc.cvm)
			}
			if res.Outcome == emv.OnlineRequest {
				checkField55(t, p, res.ICCData)
			}
		})
	}
}

// checkField55 verifies the ARQC from the field 55 data alone, as the
// acquirer simulator does.
func checkField55(t *testing.T, p cardsim.Profile, icc []byte) {
	t.Helper()
	objs, err := tlv.Parse(icc)
	if err != nil {
		t.Fatalf("field 55: %v", err)
	}
	inputs, err := arqc.Inputs(func(tag uint32) []byte { return tlv.Value(objs, tlv.Tag(tag)) })
	if err != nil {
		t.Fatalf("field 55: %v", err)
	}
	atc, ac := tlv.Value(objs, 0x9F36), tlv.Value(objs, 0x9F26)
	if len(atc) != 2 || len(ac) != 8 {
		t.Fatalf("field 55: ATC % X, AC of %d bytes", atc, len(ac))
	}
	for _, data := range inputs {
		if arqc.Verify(p.IMK, p.PAN, p.PSN, [2]byte(atc), data, [8]byte(ac)) {
			return
		}
	}
	t.Errorf("the ARQC in field 55 does not verify")
}

// TestODAForOnline: with TTQ byte 1 bit 1 the reader verifies the fDDA
// signature a qVSDC card returns with its ARQC; a failure stays online and
// is flagged in field 55's TVR (byte 1 "DDA failed") while the cryptogram
// still verifies; with the bit clear ODA is not performed.
func TestODAForOnline(t *testing.T) {
	for _, c := range []struct {
		name, preset string
		ttq          string // AID TTQ of the terminal; "" = default
		oda          string
		flagged      bool
	}{
		{"fDDA ok", "visa", "", emv.ODAOK, false},
		{"bad signature flagged", "bad-signature", "", emv.ODAFailed, true},
		{"bit clear: not performed", "visa", "36004000", emv.ODANotPerformed, false},
		{"bit clear, bad signature: not performed", "bad-signature", "36004000", emv.ODANotPerformed, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := emv.DefaultConfig()
			cfg.TestKeys = true
			if c.ttq != "" {
				for i := range cfg.AIDs {
					if cfg.AIDs[i].TTQ != nil {
						cfg.AIDs[i].TTQ = emv.HexBytes{0x36, 0x00, 0x40, 0x00}
					}
				}
			}
			p, _ := cardsim.Preset(c.preset)
			card, err := cardsim.New(p)
			if err != nil {
				t.Fatal(err)
			}
			res, err := (&emv.Terminal{Config: cfg}).Run(context.Background(), card, emv.Transaction{Amount: 20000})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != emv.OnlineRequest || res.ODA == nil || res.ODA.Method != emv.ODAFDDA || res.ODA.Result != c.oda {
				t.Fatalf("outcome %v (%s), ODA %+v; want online_request, fDDA %s", res.Outcome, res.Reason, res.ODA, c.oda)
			}
			objs, err := tlv.Parse(res.ICCData)
			if err != nil {
				t.Fatal(err)
			}
			tvr := tlv.Value(objs, 0x95)
			if len(tvr) != 5 || (tvr[0]&0x08 != 0) != c.flagged {
				t.Errorf("field 55 TVR % X, DDA failed flag want %v", tvr, c.flagged)
			}
			checkField55(t, p, res.ICCData)
		})
	}
}

// Certificate expiry is reported apart from signature verification: an
// expired ICC certificate fails ODA, yet the result says the chain and the
// signature verified; a bad signature under valid certificates says the
// opposite.
func TestODACertExpiryApartFromSignature(t *testing.T) {
	cfg := emv.DefaultConfig()
	cfg.TestKeys = true
	for i := range cfg.AIDs {
		cfg.AIDs[i].FloorLimit = 10000
	}
	for _, c := range []struct {
		preset, signature, expiry string
	}{
		{"visa", emv.ODAOK, "valid"},
		{"expired-cert", emv.ODAOK, "expired"},
		{"bad-signature", emv.ODAFailed, "valid"},
	} {
		t.Run(c.preset, func(t *testing.T) {
			p, _ := cardsim.Preset(c.preset)
			card, err := cardsim.New(p)
			if err != nil {
				t.Fatal(err)
			}
			res, err := (&emv.Terminal{Config: cfg}).Run(context.Background(), card, emv.Transaction{Amount: 1000})
			if err != nil {
				t.Fatal(err)
			}
			o := res.ODA
			if o == nil || o.Signature != c.signature || o.CertExpiry != c.expiry {
				t.Fatalf("ODA %+v, want signature %s, cert_expiry %s", o, c.signature, c.expiry)
			}
			if wantOK := c.signature == emv.ODAOK && c.expiry == "valid"; (o.Result == emv.ODAOK) != wantOK {
				t.Fatalf("ODA result %s with signature %s and certificates %s", o.Result, o.Signature, o.CertExpiry)
			}
		})
	}
}
