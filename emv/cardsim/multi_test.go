package cardsim_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"posagent/emv"
	"posagent/emv/cardsim"
	"posagent/emv/tlv"
)

func multiTerminal() *emv.Terminal {
	cfg := emv.DefaultConfig()
	cfg.TestKeys = true
	for i := range cfg.AIDs {
		cfg.AIDs[i].FloorLimit = 10000
	}
	return &emv.Terminal{Config: cfg,
		Rand: bytes.NewReader(bytes.Repeat([]byte{0x5A, 0xC3, 0x11, 0x7E}, 1<<12)),
		Now:  func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }}
}

// checkFacts fails unless every card fact of res is the one of profile p,
// the application that produced the outcome.
func checkFacts(t interface {
	Helper()
	Errorf(string, ...any)
}, res *emv.Result, p cardsim.Profile) {
	t.Helper()
	if !bytes.Equal(res.AID, p.AID) {
		t.Errorf("AID %X, want %X (%s)", res.AID, p.AID, p.Name)
	}
	if res.Scheme != p.Scheme {
		t.Errorf("scheme %q, want %q", res.Scheme, p.Scheme)
	}
	if res.PAN.Digits() != p.PAN {
		t.Errorf("PAN %v, want %s's", res.PAN, p.Name)
	}
	if res.Track2.PAN.Digits() != p.PAN {
		t.Errorf("track 2 PAN %v, want %s's", res.Track2.PAN, p.Name)
	}
	if res.Expiry != p.Expiry[:4] {
		t.Errorf("expiry %s, want %s", res.Expiry, p.Expiry[:4])
	}
	wantPSN := []byte{p.PSN}
	if p.NoPSN {
		wantPSN = nil
	}
	if !bytes.Equal(res.PANSeq, wantPSN) {
		t.Errorf("PAN sequence number % X, want % X", res.PANSeq, wantPSN)
	}
	if len(res.ICCData) > 0 {
		objs, err := tlv.Parse(res.ICCData)
		if err != nil {
			t.Errorf("field 55: %v", err)
			return
		}
		if v := tlv.Value(objs, 0x84); v != nil && !bytes.Equal(v, p.AID) {
			t.Errorf("field 55 AID %X, want %X", v, p.AID)
		}
		if v := tlv.Value(objs, 0x5F34); !bytes.Equal(v, wantPSN) {
			t.Errorf("field 55 PSN % X, want % X", v, wantPSN)
		}
	}
}

// A co-badged card whose first application (M/Chip, with track 2 and a PAN
// sequence number) gives up after its records were read, and whose second
// (qVSDC, another PAN, no PAN sequence number) is approved or goes online:
// every fact of the result is the second application's, and an online
// request's cryptogram verifies with the second application's keys and PAN.
func TestTwoApplications(t *testing.T) {
	first, _ := cardsim.Preset("mastercard")
	first.Fault = cardsim.FaultLastRecord6985
	first.PSN = 0x03
	second, _ := cardsim.Preset("visa")
	second.PAN, second.Expiry, second.NoPSN, second.Priority = "4000123412341234", "291130", true, 2
	for _, c := range []struct {
		amount  int64
		outcome emv.Outcome
	}{{1000, emv.Approved}, {20000, emv.OnlineRequest}} {
		t.Run(fmt.Sprint(c.amount), func(t *testing.T) {
			card, err := cardsim.NewMulti(first, second)
			if err != nil {
				t.Fatal(err)
			}
			res, err := multiTerminal().Run(context.Background(), card, emv.Transaction{Amount: c.amount})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != c.outcome {
				t.Fatalf("outcome %v (%s), want %v", res.Outcome, res.Reason, c.outcome)
			}
			checkFacts(t, res, second)
			if res.Outcome == emv.OnlineRequest {
				checkField55(t, second, res.ICCData)
			}
		})
	}
}

// TestTwoApplicationsProperty runs random two-application cards: whatever
// the first application does (works, is blocked, refuses GPO, gives up
// after its records), the result's facts are those of the application that
// produced the outcome.
func TestTwoApplicationsProperty(t *testing.T) {
	term := multiTerminal()
	rapid.Check(t, func(rt *rapid.T) {
		names := rapid.Permutation([]string{"visa", "mastercard", "unionpay"}).Draw(rt, "schemes")
		prefix := map[string]string{"visa": "4", "mastercard": "5", "unionpay": "62"}
		var ps [2]cardsim.Profile
		for i := range ps {
			p, _ := cardsim.Preset(names[i])
			pre := prefix[names[i]]
			p.PAN = pre + rapid.StringMatching(fmt.Sprintf("[0-9]{%d}", 16-len(pre))).Draw(rt, fmt.Sprintf("pan%d", i))
			p.Expiry = fmt.Sprintf("%02d%02d28", rapid.IntRange(27, 35).Draw(rt, "yy"), rapid.IntRange(1, 12).Draw(rt, "mm"))
			p.PSN = byte(rapid.IntRange(0, 9).Draw(rt, "psn"))
			p.NoPSN = rapid.Bool().Draw(rt, "nopsn")
			p.Track2Only = rapid.Bool().Draw(rt, "track2only")
			p.Priority = byte(i + 1)
			ps[i] = p
		}
		ps[0].Fault = rapid.SampledFrom([]cardsim.Fault{cardsim.FaultNone, cardsim.FaultLastRecord6985,
			cardsim.FaultGPO6985, cardsim.FaultBlocked}).Draw(rt, "fault")
		card, err := cardsim.NewMulti(ps[0], ps[1])
		if err != nil {
			rt.Fatal(err)
		}
		amount := rapid.SampledFrom([]int64{1000, 6000, 20000}).Draw(rt, "amount")
		res, err := term.Run(context.Background(), card, emv.Transaction{Amount: amount})
		if err != nil {
			rt.Fatal(err)
		}
		producer := ps[0]
		if ps[0].Fault != cardsim.FaultNone {
			producer = ps[1]
		}
		rt.Logf("%s (fault %v) then %s: %v (%s)", ps[0].Name, ps[0].Fault, ps[1].Name, res.Outcome, res.Reason)
		checkFacts(rt, res, producer)
	})
}
