package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"posagent/emv"
	"posagent/emv/cardsim/vpcd"
	"posagent/reader/pcsc"
	"posagent/reader/pcsc/pcsctest"
)

var benchPPSE = pcsctest.MustHex("00A404000E325041592E5359532E444446303100")

// tapBench is one software card on "Virtual PCD 00 00", a PC/SC context and
// a raw scard connection to the same card.
type tapBench struct {
	b     *testing.B
	pc    *pcsc.Context
	term  *emv.Terminal
	raw   *scard.Card
	apdus int // APDUs of one tap
}

func newTapBench(b *testing.B, preset string) *tapBench {
	pcsctest.Require(b)
	pcsctest.Lock(b)
	pcsctest.Attach(b, pcsctest.Addr0, tapSoftCard(b, preset), vpcd.Options{})
	pc, err := pcsc.Open(pcsc.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pc.Close() })
	tb := &tapBench{b: b, pc: pc, term: &emv.Terminal{Config: testKeysConfig()}}
	_, tb.apdus = tb.tap() // warm up, and the APDU count of a tap

	sc, err := scard.EstablishContext()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sc.Release() })
	if tb.raw, err = sc.Connect(pcsctest.Reader0, scard.ShareShared, scard.ProtocolT1); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tb.raw.Disconnect(scard.LeaveCard) })
	tb.rawRTT()
	return tb
}

// tap taps once with the card on the reader and returns the time to the
// outcome (wait, connect, kernel; the disconnect comes after) and the APDUs.
func (tb *tapBench) tap() (time.Duration, int) {
	ctx := context.Background()
	t0 := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := tb.pc.WaitCard(wctx, func(r string) bool { return r == pcsctest.Reader0 })
	if err != nil {
		tb.b.Fatal(err)
	}
	card, err := tb.pc.Connect(ctx, st.Reader, pcsc.ConnectOptions{Contactless: true})
	if err != nil {
		tb.b.Fatal(err)
	}
	defer card.Close()
	res, err := tb.term.Run(ctx, card, emv.Transaction{Amount: 1234})
	took := time.Since(t0)
	if err != nil || res.Outcome != emv.OnlineRequest {
		tb.b.Fatalf("tap: %v %v", res.Outcome, err)
	}
	return took, res.Commands
}

// rawRTT is the median of a few raw round trips of SELECT PPSE.
func (tb *tapBench) rawRTT() time.Duration {
	var rt [9]time.Duration
	for i := range rt {
		t0 := time.Now()
		if _, err := tb.raw.Transmit(benchPPSE); err != nil {
			tb.b.Fatal(err)
		}
		rt[i] = time.Since(t0)
	}
	slices.Sort(rt[:])
	return rt[len(rt)/2]
}

func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// BenchmarkTapToOutcomeVisa is one tap with the card already on the reader,
// up to the outcome: wait (returns at once), connect, the whole kernel. Its
// baseline is BenchmarkTapRawBaselineVisa, the same number of raw round
// trips. Between taps, with the timer stopped, it also samples the raw round
// trip and the same transaction run directly on a software card (kernel and
// card computing, no reader), and reports from the medians
//
//	ratio     = tap / (APDUs of the tap x raw round trip)
//	ratio-io  = (tap - direct run) / (APDUs x raw round trip)
//
// ratio-io leaves out the card's own signing (RSA for CDA), which a raw
// SELECT PPSE round trip does not have. Medians ignore the load bursts of a
// shared machine. The cards are top-level benchmarks, not sub-benchmarks, so
// that a -bench pattern names each exactly.
func BenchmarkTapToOutcomeVisa(b *testing.B) { benchTapToOutcome(b, "visa") }

// BenchmarkTapToOutcomeMastercard is BenchmarkTapToOutcomeVisa with an
// M/Chip card doing CDA (8 APDUs, an RSA signature on the card).
func BenchmarkTapToOutcomeMastercard(b *testing.B) { benchTapToOutcome(b, "mastercard") }

func benchTapToOutcome(b *testing.B, preset string) {
	tb := newTapBench(b, preset)
	ctx := context.Background()
	soft := tapSoftCard(b, preset)
	directRun := func() time.Duration {
		soft.Reset()
		t0 := time.Now()
		if _, err := tb.term.Run(ctx, soft, emv.Transaction{Amount: 1234}); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	taps := make([]time.Duration, 0, b.N)
	rtts := make([]time.Duration, 0, b.N)
	directs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		took, _ := tb.tap()
		taps = append(taps, took)
		b.StopTimer()
		rtts = append(rtts, tb.rawRTT())
		directs = append(directs, directRun())
		b.StartTimer()
	}
	b.StopTimer()
	tap, rtt, direct := median(taps), median(rtts), median(directs)
	b.ReportMetric(float64(tb.apdus), "apdus")
	b.ReportMetric(float64(tap.Microseconds())/1000, "tap-median-ms")
	b.ReportMetric(float64(rtt.Microseconds())/1000, "raw-rtt-median-ms")
	b.ReportMetric(float64(direct.Microseconds())/1000, "direct-median-ms")
	b.ReportMetric(float64(tap)/(float64(tb.apdus)*float64(rtt)), "ratio")
	b.ReportMetric(float64(tap-direct)/(float64(tb.apdus)*float64(rtt)), "ratio-io")
}

// BenchmarkTapRawBaselineVisa is the baseline of BenchmarkTapToOutcomeVisa:
// as many raw scard.Card.Transmit round trips (SELECT PPSE, same card, same
// reader) as one tap of that card sends APDUs.
func BenchmarkTapRawBaselineVisa(b *testing.B) { benchTapRawBaseline(b, "visa") }

// BenchmarkTapRawBaselineMastercard is the baseline of
// BenchmarkTapToOutcomeMastercard.
func BenchmarkTapRawBaselineMastercard(b *testing.B) { benchTapRawBaseline(b, "mastercard") }

func benchTapRawBaseline(b *testing.B, preset string) {
	tb := newTapBench(b, preset)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < tb.apdus; j++ {
			if _, err := tb.raw.Transmit(benchPPSE); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(tb.apdus), "apdus")
}
