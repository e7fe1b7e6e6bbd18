package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/emv"
	"posagent/emv/cardsim"
	"posagent/emv/cardsim/vpcd"
	"posagent/reader/pcsc/pcsctest"
)

// tapSoftCard returns a fresh software card of the named preset.
func tapSoftCard(t testing.TB, preset string) *cardsim.Card {
	t.Helper()
	p, err := cardsim.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cardsim.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tapDirect runs the kernel on a software card without any reader: what a tap
// through PC/SC must reproduce.
func tapDirect(t *testing.T, preset string, amount int64) tapJSON {
	t.Helper()
	res, err := (&emv.Terminal{Config: testKeysConfig()}).Run(context.Background(), tapSoftCard(t, preset), emv.Transaction{Amount: amount})
	if err != nil {
		t.Fatalf("direct run of %s: %v", preset, err)
	}
	b, err := json.Marshal(res.Report())
	if err != nil {
		t.Fatal(err)
	}
	var r tapJSON
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func tapRun(t *testing.T, args ...string) (tapJSON, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"--json", "--test-keys", "--timeout", "10s"}, args...)
	if code := runTap(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("tap %q: exit %d: %s", args, code, errOut.String())
	}
	return tapDecode(t, out.Bytes()), out.String()
}

func tapSamePayment(t *testing.T, what string, got, want tapJSON) {
	t.Helper()
	str := func(p *string) string {
		if p == nil {
			return "null"
		}
		return *p
	}
	if got.Outcome != want.Outcome || got.Scheme != want.Scheme || str(got.PAN) != str(want.PAN) ||
		str(got.AID) != str(want.AID) || got.Commands != want.Commands {
		t.Errorf("%s: outcome %s scheme %s pan %s aid %s commands %d; want %s %s %s %s %d", what,
			got.Outcome, got.Scheme, str(got.PAN), str(got.AID), got.Commands,
			want.Outcome, want.Scheme, str(want.PAN), str(want.AID), want.Commands)
	}
}

// TestTapEachScheme taps every well-behaved software card through pcscd,
// records the session (unmasked: masking the PAN inside signed records makes
// offline data authentication fail on replay), and replays the recording:
// reader, direct run and replay agree.
func TestTapEachScheme(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	dir := t.TempDir()
	for _, preset := range []string{"visa", "mastercard", "unionpay", "amex"} {
		t.Run(preset, func(t *testing.T) {
			want := tapDirect(t, preset, 1234)
			if want.Outcome == "" || want.Outcome == "end_application" {
				t.Fatalf("direct run of %s ended with %q: not a full tap", preset, want.Outcome)
			}
			card := tapSoftCard(t, preset)
			att := pcsctest.Attach(t, pcsctest.Addr0, card, vpcd.Options{})
			file := filepath.Join(dir, preset+".trace")
			got, raw := tapRun(t, "--amount", "12.34", "--reader", "^Virtual PCD 00 00$", "--record", file, "--unmasked")
			tapSamePayment(t, "tap", got, want)
			if got.Reader != pcsctest.Reader0 || got.Profile != "vpcd" {
				t.Errorf("reader %q profile %q", got.Reader, got.Profile)
			}
			if pan := card.Profile().PAN; strings.Contains(raw, pan) {
				t.Errorf("full PAN in tap output")
			}

			tapReplaySame(t, file, got)
			att.Remove()
		})
	}
}

// TestTapCardPulled pulls a real software card after 3 APDUs (after GPO):
// no outcome, however far the kernel got.
func TestTapCardPulled(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	pcsctest.Attach(t, pcsctest.Addr0, tapSoftCard(t, "visa"), vpcd.Options{RemoveAfterAPDUs: 3})
	var out, errOut bytes.Buffer
	code := runTap(context.Background(), []string{"--amount", "1.00", "--json", "--test-keys", "--reader", "00 00$", "--timeout", "10s"}, &out, &errOut)
	if code != 1 || out.Len() != 0 || !strings.Contains(errOut.String(), "card removed during the transaction: no outcome") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

// TestTapTwoReaders taps two cards at once, one per virtual reader.
func TestTapTwoReaders(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	pcsctest.Attach(t, pcsctest.Addr0, tapSoftCard(t, "visa"), vpcd.Options{})
	pcsctest.Attach(t, pcsctest.Addr1, tapSoftCard(t, "mastercard"), vpcd.Options{})
	want := map[string]string{pcsctest.Reader0: "visa", pcsctest.Reader1: "mastercard"}
	var wg sync.WaitGroup
	results := make(map[string]tapJSON)
	var mu sync.Mutex
	for r := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out, errOut bytes.Buffer
			code := runTap(context.Background(), []string{"--amount", "2.00", "--json", "--test-keys", "--reader", "^" + r + "$", "--timeout", "10s"}, &out, &errOut)
			if code != 0 {
				t.Errorf("%s: exit %d: %s", r, code, errOut.String())
				return
			}
			var res tapJSON
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Errorf("%s: %v", r, err)
				return
			}
			mu.Lock()
			results[r] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	for r, scheme := range want {
		if got := results[r]; got.Scheme != scheme || got.Reader != r || got.Outcome != "online_request" {
			t.Errorf("%s: %+v, want a %s online request", r, got, scheme)
		}
	}
}

// TestTapAcrossPCSCDRestart taps, restarts pcscd through
// scripts/pcsc-stack.sh, and taps again.
func TestTapAcrossPCSCDRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts pcscd")
	}
	pcsctest.Require(t)
	pcsctest.Lock(t)
	t.Cleanup(func() { pcsctest.Stack(t, "start") })
	for i, preset := range []string{"visa", "unionpay"} {
		if i > 0 {
			pcsctest.Stack(t, "restart")
		}
		att := pcsctest.Attach(t, pcsctest.Addr0, tapSoftCard(t, preset), vpcd.Options{})
		got, _ := tapRun(t, "--amount", "3.00", "--reader", "00 00$")
		if got.Scheme != preset || got.Outcome != "online_request" {
			t.Errorf("tap %d: %+v", i+1, got)
		}
		att.Remove()
	}
	// pcscd down: a clear error naming pcscd, no hang.
	pcsctest.Stack(t, "stop")
	var out, errOut bytes.Buffer
	t0 := time.Now()
	code := runTap(context.Background(), []string{"--amount", "1"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "is pcscd running?") || time.Since(t0) > 5*time.Second {
		t.Errorf("tap with pcscd down: exit %d after %v: %q", code, time.Since(t0), errOut.String())
	}
	pcsctest.Stack(t, "start")
}

// tapReplaySame replays a recorded tap and checks it gives the same payment.
func tapReplaySame(t *testing.T, file string, got tapJSON) {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := runTrace(context.Background(), []string{"replay", "--json", file}, &out, &errOut); code != 0 {
		t.Fatalf("trace replay: exit %d: %s", code, errOut.String())
	}
	var rep struct {
		tapJSON
		Divergence any `json:"divergence"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != got.Outcome || rep.Scheme != got.Scheme || rep.Commands != got.Commands || rep.Divergence != nil {
		t.Errorf("replay differs from the tap (%s, %s, %d commands):\n%s", got.Outcome, got.Scheme, got.Commands, out.String())
	}
}

// TestTapRecordMasked records a tap with the default masking: no full PAN
// in the file, and an online Visa tap (no offline authentication to redo)
// replays to the same outcome.
func TestTapRecordMasked(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	card := tapSoftCard(t, "visa")
	pcsctest.Attach(t, pcsctest.Addr0, card, vpcd.Options{})
	file := filepath.Join(t.TempDir(), "visa.trace")
	got, _ := tapRun(t, "--amount", "7.50", "--reader", "00 00$", "--record", file)
	rec, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pan := card.Profile().PAN
	if flat := strings.ReplaceAll(string(rec), " ", ""); strings.Contains(flat, pan) || strings.Contains(flat, pan[6:]) {
		t.Errorf("PAN digits in the masked recording:\n%s", rec)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("recording mode %v, %v; want 0600", fi.Mode(), err)
	}
	tapReplaySame(t, file, got)
}

// TestTapHostileCards taps misbehaving software cards through pcscd: the
// outcome through the reader is the one the kernel reaches on the card
// directly, and a card that leaves the field gives no outcome at all.
func TestTapHostileCards(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	for _, preset := range []string{"bad-tlv", "blocked", "gpo-6985", "expired-card", "removed"} {
		t.Run(preset, func(t *testing.T) {
			att := pcsctest.Attach(t, pcsctest.Addr0, tapSoftCard(t, preset), vpcd.Options{})
			defer att.Remove()
			var out, errOut bytes.Buffer
			code := runTap(context.Background(), []string{"--json", "--test-keys", "--timeout", "10s", "--amount", "4.20", "--reader", "00 00$"}, &out, &errOut)
			if preset == "removed" {
				if code != 1 || out.Len() != 0 || !strings.Contains(errOut.String(), "card removed during the transaction: no outcome") {
					t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			tapSamePayment(t, "tap", tapDecode(t, out.Bytes()), tapDirect(t, preset, 420))
		})
	}
}

// testKeysConfig is the default terminal configuration with test CA keys
// allowed (the software cards are signed by posagent's test CAs).
func testKeysConfig() emv.Config {
	c := emv.DefaultConfig()
	c.TestKeys = true
	return c
}
