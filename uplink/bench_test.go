package uplink_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"posagent/internal/syncbuf"
	"posagent/offline"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		i := int(float64(len(lat))*p) - 1
		i = max(0, min(i, len(lat)-1))
		return float64(lat[i].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// BenchmarkAuthRoundTripTLS: one terminal, sequential authorisations (0100
// with a valid ARQC -> verified, journalled, 0110 with ARPC) over loopback
// TLS 1.3 with client certificates, including reversal arming and STAN.
// Sub-benchmarks: the host journal with or without fsync (the disk's share),
// and the reversal armed in memory or in the real offline.Store (fsync'd
// Enqueue + Cancel, as in production).
func BenchmarkAuthRoundTripTLS(b *testing.B) {
	for _, bc := range []struct {
		name    string
		sync    bool
		offline bool
	}{
		{"journal=fsync/queue=mem", true, false},
		{"journal=nosync/queue=mem", false, false},
		{"journal=fsync/queue=offline.Store", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnvB(b, bc.sync)
			var q uplink.Queue = acqsim.NewMemQueue()
			if bc.offline {
				s, err := offline.Open(filepath.Join(b.TempDir(), "queue.db"), offline.Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				q = s
			}
			c := e.clientB(b, q)
			txns := make([]uplink.Transaction, b.N)
			for i := range txns {
				txns[i] = card(b, fmt.Sprintf("bench-%d", i), 1000)
			}
			lat := make([]time.Duration, 0, b.N)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				r, err := c.Authorize(ctx, txns[i])
				lat = append(lat, time.Since(t0))
				if err != nil || !r.Approved() {
					b.Fatalf("auth %d: %v %v", i, r, err)
				}
			}
			b.StopTimer()
			reportLatency(b, lat)
		})
	}
}

// BenchmarkRawTLSEcho is the peer of BenchmarkAuthRoundTripTLS: the same
// request and response sizes (0100 and 0110 as packed, with their length
// headers) over the same kind of tls.Conn, without ISO 8583 packing,
// cryptograms, journal or reversal arming.
func BenchmarkRawTLSEcho(b *testing.B) {
	reqSize, respSize := authSizes(b)
	stls, err := acqsim.ServerTLS(tlsDir)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", stls)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		in := make([]byte, reqSize)
		out := make([]byte, respSize)
		for {
			if _, err := io.ReadFull(c, in); err != nil {
				return
			}
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}()
	ctls := clientTLS(b)
	ctls.ServerName = "127.0.0.1"
	conn, err := tls.Dial("tcp", ln.Addr().String(), ctls)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	req := make([]byte, reqSize)
	resp := make([]byte, respSize)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := conn.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(conn, resp); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
	b.ReportMetric(float64(reqSize), "req-bytes")
	b.ReportMetric(float64(respSize), "resp-bytes")
}

// authSizes returns the framed sizes of a benchmark 0100 and its 0110.
func authSizes(b *testing.B) (int, int) {
	codec, _ := uplink.NewCodec(nil)
	txn := card(b, "size", 1000)
	req := &uplink.Message{MTI: "0100", PAN: txn.PAN, ProcessingCode: "000000", Amount: 1000, HasAmount: true,
		Transmission: "1125221500", STAN: "000001", LocalTime: "221500", LocalDate: "1125", Expiry: txn.Expiry,
		MCC: "5411", EntryMode: txn.EntryMode, PSN: txn.PSN, Condition: "00", AcquirerID: "12345",
		TerminalID: testTID, MerchantID: testMID, Currency: currency, ICC: txn.ICC, TransactionID: "bench-100000"}
	resp := &uplink.Message{MTI: "0110", ProcessingCode: "000000", Amount: 1000, HasAmount: true,
		Transmission: "1125221500", STAN: "000001", LocalTime: "221500", LocalDate: "1125", AcquirerID: "12345",
		TerminalID: testTID, MerchantID: testMID, Currency: currency, TransactionID: "bench-100000",
		ResponseCode: "00", AuthCode: "000001", RRN: "261125000001", ICC: make([]byte, 12)}
	rb, err := codec.Encode(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.ICC = append([]byte{0x91, 0x0A}, make([]byte, 10)...)
	pb, err := codec.Encode(resp)
	if err != nil {
		b.Fatal(err)
	}
	return len(rb) + 2, len(pb) + 2
}

// newEnvB and clientB are newEnv and env.client for benchmarks.
func newEnvB(b *testing.B, sync bool) *env {
	b.Helper()
	dir := b.TempDir()
	e := &env{journalPath: dir + "/journal.jsonl", logs: &syncbuf.Buffer{}}
	j, err := acqsim.OpenJournal(e.journalPath)
	if err != nil {
		b.Fatal(err)
	}
	if !sync {
		j.DisableSync()
	}
	stls, _ := acqsim.ServerTLS(tlsDir)
	e.srv, err = acqsim.NewServer(acqsim.Config{TLS: stls, Journal: j})
	if err != nil {
		b.Fatal(err)
	}
	a, err := e.srv.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	e.addr = a.String()
	b.Cleanup(func() { e.srv.Close(); j.Close() })
	return e
}

func (e *env) clientB(b *testing.B, q uplink.Queue) *uplink.Client {
	stan, err := uplink.OpenSTAN(b.TempDir()+"/stan", 100000)
	if err != nil {
		b.Fatal(err)
	}
	c, err := uplink.New(uplink.Config{Addr: e.addr, TLS: clientTLS(b), TerminalID: testTID,
		MerchantID: testMID, MCC: "5411", AcquirerID: "12345", Queue: q, STAN: stan, EchoInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	return c
}
