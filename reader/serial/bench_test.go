package serial_test

import (
	"bytes"
	"context"
	"io"
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
// the same port library and pty with no protocol.
func BenchmarkDongleAPDURoundTrip(b *testing.B) {
	prof := simProfile(b)
	s := startSim(b, prof, device.Options{NewCard: func() (device.Card, error) { return echoCard{}, nil }})
	d := openDongle(b, s, prof)
	ctx := context.Background()
	card, err := d.WaitCard(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer card.Close()
	rtts := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		r, err := card.Transmit(ctx, benchCmd)
		rtts = append(rtts, time.Since(t0))
		if err != nil || len(r) != len(benchResp) {
			b.Fatalf("transmit %d: %d bytes, %v; stats %v", len(rtts), len(r), err, statsOf(d))
		}
	}
	reportMedian(b, rtts)
}

// BenchmarkRawPTYEcho writes the command's bytes to a pty opened with
// go.bug.st/serial and reads back as many bytes as the response has, from a
// goroutine on the other side that answers once the whole command is in.
func BenchmarkRawPTYEcho(b *testing.B) {
	master, tty, err := pty.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer master.Close()
	defer tty.Close()
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
	defer p.Close()
	_ = p.SetReadTimeout(50 * time.Millisecond)
	buf := make([]byte, 1024)
	rtts := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := p.Write(benchCmd); err != nil {
			b.Fatal(err)
		}
		got := 0
		for got < len(benchResp) {
			n, err := p.Read(buf)
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
		rtts = append(rtts, time.Since(t0))
	}
	reportMedian(b, rtts)
}

func reportMedian(b *testing.B, d []time.Duration) {
	b.StopTimer()
	if len(d) == 0 {
		return
	}
	s := append([]time.Duration(nil), d...)
	for i := 1; i < len(s); i++ { // insertion sort: b.N is small
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	b.ReportMetric(float64(s[len(s)/2].Microseconds()), "median-us")
	b.ReportMetric(float64(s[len(s)*99/100].Microseconds()), "p99-us")
}
