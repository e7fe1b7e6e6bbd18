package serial_test

import (
	"bytes"
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/creack/pty"
	bugst "go.bug.st/serial"

	"posagent/reader/serial/device"
)

// The APDU of both round-trip benchmarks: SELECT PPSE, answered with a
// 64-byte FCI and 9000.
var (
	benchCmd  = []byte{0x00, 0xA4, 0x04, 0x00, 0x0E, '2', 'P', 'A', 'Y', '.', 'S', 'Y', 'S', '.', 'D', 'D', 'F', '0', '1', 0x00}
	benchResp = append(bytes.Repeat([]byte{0x6F}, 64), 0x90, 0x00)
)

// echoCard answers every APDU with benchResp.
type echoCard struct{}

func (echoCard) Transmit(context.Context, []byte) ([]byte, error) { return benchResp, nil }

// BenchmarkDongleAPDURoundTrip is one APDU through the whole dongle
// protocol on a real pty: host block encoding, go.bug.st/serial, the pty,
// the device's block and message layers, the (instant) card, and back. Its
// peer is BenchmarkRawPTYEcho, the same bytes of APDU and response through
// the same port library and a pty with no protocol. Both benchmarks run
// the other's operation between two of their own (timer stopped), so each
// sees the same machine: a tight loop of either alone keeps its threads
// spinning and measures the scheduler, not the protocol. Each also reports
//
//	ratio = median dongle round trip / median raw echo, sampled alternately.
func BenchmarkDongleAPDURoundTrip(b *testing.B) { benchAlternate(b, true) }

// BenchmarkRawPTYEcho is the raw echo: the peer of
// BenchmarkDongleAPDURoundTrip in scripts/bench-pairs.txt.
func BenchmarkRawPTYEcho(b *testing.B) { benchAlternate(b, false) }

func benchAlternate(b *testing.B, dongle bool) {
	prof := simProfile(b)
	s := startSim(b, prof, device.Options{NewCard: func() (device.Card, error) { return echoCard{}, nil }})
	d := openDongle(b, s, prof)
	ctx := context.Background()
	card, err := d.WaitCard(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer card.Close()
	raw := newRawEcho(b)
	viaDongle := func() time.Duration {
		t0 := time.Now()
		r, err := card.Transmit(ctx, benchCmd)
		if err != nil || len(r) != len(benchResp) {
			b.Fatalf("transmit: %d bytes, %v; stats %v", len(r), err, statsOf(d))
		}
		return time.Since(t0)
	}
	mine, other := viaDongle, func() time.Duration { return raw.roundTrip(b) }
	if !dongle {
		mine, other = other, mine
	}
	var mt, ot []time.Duration
	b.ResetTimer()
	for b.Loop() {
		mt = append(mt, mine())
		b.StopTimer()
		ot = append(ot, other())
		b.StartTimer()
	}
	b.StopTimer()
	m, o := median(mt), median(ot)
	b.ReportMetric(float64(m.Nanoseconds())/1000, "median-us")
	b.ReportMetric(float64(median(mt[len(mt)*99/100:]).Nanoseconds())/1000, "p99-us")
	if dongle {
		b.ReportMetric(float64(o.Nanoseconds())/1000, "raw-median-us")
		b.ReportMetric(float64(m)/float64(o), "ratio")
	} else {
		b.ReportMetric(float64(o.Nanoseconds())/1000, "dongle-median-us")
	}
}

// rawEcho is a pty opened with go.bug.st/serial whose other side answers
// as many bytes as benchResp has once the bytes of benchCmd are in.
type rawEcho struct {
	p   bugst.Port
	buf []byte
}

func newRawEcho(b *testing.B) *rawEcho {
	master, tty, err := pty.Open()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { master.Close(); tty.Close() })
	go func() {
		cmd := make([]byte, len(benchCmd))
		for {
			if _, err := io.ReadFull(master, cmd); err != nil {
				return
			}
			if _, err := master.Write(benchResp); err != nil {
				return
			}
		}
	}()
	p, err := bugst.Open(tty.Name(), &bugst.Mode{BaudRate: 115200})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	_ = p.SetReadTimeout(50 * time.Millisecond)
	return &rawEcho{p: p, buf: make([]byte, 1024)}
}

func (r *rawEcho) roundTrip(b *testing.B) time.Duration {
	t0 := time.Now()
	if _, err := r.p.Write(benchCmd); err != nil {
		b.Fatal(err)
	}
	for got := 0; got < len(benchResp); {
		n, err := r.p.Read(r.buf)
		if err != nil {
			b.Fatal(err)
		}
		got += n
	}
	return time.Since(t0)
}

// median sorts d and returns its middle value.
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)/2]
}
