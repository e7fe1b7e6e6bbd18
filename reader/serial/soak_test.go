package serial_test

import (
	"context"
	"testing"
	"time"

	"posagent/reader/serial/device"
)

// TestCombinedFaults taps repeatedly through every fault at once (flipped
// bits, dropped bytes, lost blocks both ways, line noise; about a third of
// the blocks are hit): every tap completes, and no APDU runs twice on the
// card.
func TestCombinedFaults(t *testing.T) {
	// A third of the blocks are hit: more attempts than the profile's 3.
	p := *simProfile(t)
	p.Retries = 8
	prof := &p
	s := startSim(t, prof, device.Options{NewCard: softCard(t, "mastercard"),
		Faults: device.Faults{FlipEvery: 7, DropEvery: 11, LoseEvery: 13, IgnoreEvery: 17, Garbage: 5, GarbageEvery: 3}})
	d := openDongle(t, s, prof)
	want := direct(t, "mastercard", 800)
	taps := 6
	if testing.Short() {
		taps = 2
	}
	apdus := 0
	for i := range taps {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		res, err := tap(ctx, d, 800)
		cancel()
		if err != nil {
			t.Fatalf("tap %d: %v (stats %v)", i, err, statsOf(d))
		}
		if res.Outcome != want.Outcome || res.Cryptogram != want.Cryptogram {
			t.Fatalf("tap %d: %v %s", i, res.Outcome, res.Cryptogram)
		}
		apdus += res.Commands
	}
	if s.Dev.APDUs() != apdus {
		t.Fatalf("device ran %d APDUs for %d sent", s.Dev.APDUs(), apdus)
	}
	t.Logf("stats %v", statsOf(d))
}
