package main

import (
	"context"
	"testing"
	"time"

	"posagent/emv"
	"posagent/reader/serial/device"
)

// BenchmarkTapToOutcomeDongleVisa is BenchmarkTapToOutcomeVisa on a
// software dongle over a real pty instead of vpcd+pcscd: from the start of
// the wait (the card is already in the field: POLL answers at once) to the
// kernel's outcome; the release comes after. Its peer in
// scripts/bench-pairs.txt is the vpcd tap, run in the same make bench.
// Between taps, timer stopped, it runs the same transaction directly on a
// software card and reports the medians of both and
//
//	link-us-per-apdu = (tap - direct run) / APDUs of the tap
//
// the cost of the dongle link per command.
func BenchmarkTapToOutcomeDongleVisa(b *testing.B) { benchTapDongle(b, "visa") }

// BenchmarkTapToOutcomeDongleMastercard is the M/Chip (CDA) card on the dongle.
func BenchmarkTapToOutcomeDongleMastercard(b *testing.B) { benchTapDongle(b, "mastercard") }

func benchTapDongle(b *testing.B, preset string) {
	link, _ := dongleSim(b, preset, device.Options{})
	d, err := newDongle(link, "donglesim", "", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	term := &emv.Terminal{Config: testKeysConfig()}
	ctx := context.Background()
	soft := tapSoftCard(b, preset)
	var taps, directs []time.Duration
	apdus := 0
	tap := func() {
		t0 := time.Now()
		card, err := d.WaitCard(ctx)
		if err != nil {
			b.Fatal(err)
		}
		res, err := term.Run(ctx, card, emv.Transaction{Amount: 1234})
		taps = append(taps, time.Since(t0))
		if err != nil || res.Outcome != emv.OnlineRequest {
			b.Fatalf("tap: %v %v", res, err)
		}
		apdus = res.Commands
		b.StopTimer()
		card.Close()
		soft.Reset()
		t1 := time.Now()
		if _, err := term.Run(ctx, soft, emv.Transaction{Amount: 1234}); err != nil {
			b.Fatal(err)
		}
		directs = append(directs, time.Since(t1))
		b.StartTimer()
	}
	tap() // warm up
	taps, directs = taps[:0], directs[:0]
	b.ResetTimer()
	for b.Loop() {
		tap()
	}
	b.StopTimer()
	t, dr := median(taps), median(directs)
	b.ReportMetric(float64(apdus), "apdus")
	b.ReportMetric(float64(t.Microseconds())/1000, "tap-median-ms")
	b.ReportMetric(float64(dr.Microseconds())/1000, "direct-median-ms")
	b.ReportMetric(float64(t-dr)/float64(apdus)/1000, "link-us-per-apdu")
}
