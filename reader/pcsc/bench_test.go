package pcsc_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"posagent/emv/cardsim/vpcd"
	"posagent/reader/pcsc"
	"posagent/reader/pcsc/pcsctest"
)

// benchCard attaches a fixed-answer card to the first virtual reader and
// waits until pcscd sees it. The same card and APDU serve every benchmark.
func benchCard(b *testing.B) []byte {
	b.Helper()
	pcsctest.Require(b)
	pcsctest.Lock(b)
	pcsctest.Attach(b, pcsctest.Addr0, pcsctest.NewFixedCard(map[string]string{ppseCmd: ppseResp}), vpcd.Options{})
	c, err := pcsc.Open(pcsc.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.WaitCard(ctx, func(r string) bool { return r == pcsctest.Reader0 }); err != nil {
		b.Fatal(err)
	}
	return pcsctest.MustHex(ppseCmd)
}

func ourCard(b *testing.B) *pcsc.Card {
	b.Helper()
	c, err := pcsc.Open(pcsc.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	k, err := c.Connect(context.Background(), pcsctest.Reader0, pcsc.ConnectOptions{Contactless: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { k.Close() })
	return k
}

func rawCard(b *testing.B) *scard.Card {
	b.Helper()
	sc, err := scard.EstablishContext()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sc.Release() })
	k, err := sc.Connect(pcsctest.Reader0, scard.ShareShared, scard.ProtocolT1)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { k.Disconnect(scard.LeaveCard) })
	return k
}

// BenchmarkPCSCTransmit is one SELECT PPSE through reader/pcsc's Card.
func BenchmarkPCSCTransmit(b *testing.B) {
	cmd := benchCard(b)
	k := ourCard(b)
	ctx := context.Background()
	for i := 0; i < 50; i++ { // warm up both ends
		k.Transmit(ctx, cmd)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := k.Transmit(ctx, cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawScardTransmit is the baseline: the same APDU to the same card
// with a bare scard.Card.Transmit loop.
func BenchmarkRawScardTransmit(b *testing.B) {
	cmd := benchCard(b)
	k := rawCard(b)
	for i := 0; i < 50; i++ { // warm up both ends
		k.Transmit(cmd)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := k.Transmit(cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTransmitRatio alternates one APDU of each loop on the same card,
// so that machine load hits both alike, and reports the ratio of the median
// round trips (ours/raw) as "ratio": medians ignore the bursts of a shared
// machine that totals would add in.
func BenchmarkTransmitRatio(b *testing.B) {
	cmd := benchCard(b)
	ours, raw := ourCard(b), rawCard(b)
	ctx := context.Background()
	tOurs := make([]time.Duration, 0, b.N)
	tRaw := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := raw.Transmit(cmd); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := ours.Transmit(ctx, cmd); err != nil {
			b.Fatal(err)
		}
		tRaw = append(tRaw, t1.Sub(t0))
		tOurs = append(tOurs, time.Since(t1))
	}
	b.StopTimer()
	slices.Sort(tOurs)
	slices.Sort(tRaw)
	mo, mr := tOurs[len(tOurs)/2], tRaw[len(tRaw)/2]
	b.ReportMetric(float64(mo)/float64(mr), "ratio")
	b.ReportMetric(float64(mr.Nanoseconds()), "raw-median-ns")
	b.ReportMetric(float64(mo.Nanoseconds()), "ours-median-ns")
}
