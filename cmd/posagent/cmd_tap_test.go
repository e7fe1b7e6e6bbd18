package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"posagent/emv/cardsim/vpcd"
	"posagent/money"
	"posagent/reader/pcsc/pcsctest"
)

func TestTapUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no amount", nil, "--amount is required"},
		{"bad amount", []string{"--amount", "12,34"}, "not an amount"},
		{"bad currency", []string{"--amount", "1", "--currency", "1000"}, "not an ISO 4217"},
		{"bad reader pattern", []string{"--amount", "1", "--reader", "a("}, "--reader"},
		{"extra argument", []string{"--amount", "1", "now"}, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := runTap(context.Background(), tc.args, &out, &errOut); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr %q does not say %q", errOut.String(), tc.want)
			}
		})
	}
}

// TestTapCardRemoved pulls the card after the first APDU: tap reports no
// outcome and fails.
func TestTapCardRemoved(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	card := pcsctest.NewFixedCard(map[string]string{
		"00A404000E325041592E5359532E444446303100": "6F 23 84 0E 32 50 41 59 2E 53 59 53 2E 44 44 46 30 31 A5 11 BF 0C 0E 61 0C 4F 07 A0 00 00 00 03 10 10 87 01 01 90 00",
	})
	pcsctest.Attach(t, pcsctest.Addr0, card, vpcd.Options{RemoveAfterAPDUs: 1})
	var out, errOut bytes.Buffer
	code := runTap(context.Background(), []string{"--amount", "5.00", "--reader", "^Virtual PCD 00 00$", "--json", "--timeout", "10s"}, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stdout %s stderr %s", code, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "card removed during the transaction: no outcome") {
		t.Errorf("stderr = %q", errOut.String())
	}
	if out.Len() != 0 {
		t.Errorf("an outcome was printed: %s", out.String())
	}
}

// TestTapSignalsThroughProfile overrides the vpcd profile with one that
// drives LED and buzzer by pseudo-APDU: the software card receives the
// present-card signal before the kernel's first command and the failure
// signal after the outcome.
func TestTapSignalsThroughProfile(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	dir := t.TempDir()
	prof := `{
  "name": "vpcd with signals", "match": ["^Virtual PCD 00 00$"], "test_only": true, "contactless": true,
  "led_buzzer": {"via": "apdu", "commands": {"present": ["FF 00 40 0F 04 00 00 00 00"], "failure": ["FF 00 40 0D 04 01 01 03 01"]}},
  "uid_command": "FF CA 00 00 00", "max_apdu": 261, "source": "test"
}`
	if err := os.WriteFile(filepath.Join(dir, "vpcd.json"), []byte(prof), 0o644); err != nil {
		t.Fatal(err)
	}
	card := pcsctest.NewFixedCard(map[string]string{
		"FF00400F0400000000": "90 0F",
		"FF00400D0401010301": "90 0D",
	})
	pcsctest.Attach(t, pcsctest.Addr0, card, vpcd.Options{})
	var out, errOut bytes.Buffer
	code := runTap(context.Background(), []string{"--amount", "1.00", "--reader", "Virtual PCD 00 00", "--profiles", dir, "--json", "--timeout", "10s"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	rep := tapDecode(t, out.Bytes())
	if rep.Outcome == "approved" || rep.Outcome == "online_request" || rep.Profile != "vpcd" {
		t.Errorf("a card that answers 6D00 to everything gave %v on profile %s", rep.Outcome, rep.Profile)
	}
	seen := card.Seen()
	if len(seen) < 3 || seen[0] != "FF00400F0400000000" || seen[len(seen)-1] != "FF00400D0401010301" {
		t.Errorf("card saw %q; want the present signal first and the failure signal last", seen)
	}
	if rep.Commands != len(seen)-2 {
		t.Errorf("kernel counted %d commands, the card saw %d besides the two signals", rep.Commands, len(seen)-2)
	}
}

// tapJSON is the part of `tap --json` the tests read back.
type tapJSON struct {
	Outcome  string     `json:"outcome"`
	Scheme   string     `json:"scheme"`
	PAN      *string    `json:"pan"`
	AID      *string    `json:"aid"`
	Commands int        `json:"commands"`
	Reader   string     `json:"reader"`
	Profile  string     `json:"profile"`
	Timings  tapTimings `json:"timings"`
}

func tapDecode(t *testing.T, b []byte) tapJSON {
	t.Helper()
	var r tapJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("tap --json output: %v\n%s", err, b)
	}
	if r.Timings.TotalMS < r.Timings.WaitMS || r.Timings.TotalMS < r.Timings.CardMS || r.Timings.CardMS <= 0 {
		t.Errorf("timings do not add up: %+v", r.Timings)
	}
	return r
}

// TestTapTimeoutNamesSkippedReaders: with a profile set that makes the
// virtual readers contact-only, tap waits on no reader and says why.
func TestTapTimeoutNamesSkippedReaders(t *testing.T) {
	pcsctest.Require(t)
	dir := t.TempDir()
	prof := `{"name": "contact-only vpcd", "match": ["^Virtual PCD"], "contactless": false,
  "uid_command": "FF CA 00 00 00", "max_apdu": 261, "source": "test"}`
	if err := os.WriteFile(filepath.Join(dir, "vpcd.json"), []byte(prof), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := runTap(context.Background(), []string{"--amount", "1", "--profiles", dir, "--timeout", "300ms"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), `no card within 300ms (readers without a contactless profile are skipped unless named with --reader: "Virtual PCD 00 00", "Virtual PCD 00 01")`) {
		t.Errorf("exit %d: %q", code, errOut.String())
	}
}

// The tap summary prints the amount in the currency's own decimals.
func TestPrintTapAmount(t *testing.T) {
	for code, want := range map[uint16]string{978: "12.34 EUR", 392: "1234 JPY", 414: "1.234 KWD"} {
		c, err := money.Numeric(code)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		printTap(&out, tapReport{}, 1234, c)
		if !strings.Contains(out.String(), "amount    "+want) {
			t.Errorf("currency %d: %q, want %s", code, out.String(), want)
		}
	}
}
