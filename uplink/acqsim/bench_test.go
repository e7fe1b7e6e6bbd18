package acqsim

import (
	"posagent/emv/arqc"
	"posagent/emv/pan"
	"posagent/emv/tlv"
	"posagent/uplink"

	"context"
	"crypto/tls"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAcqsimThroughput: 1000 simulated terminals (uplink clients, one
// TLS connection each) send authorisations with valid ARQCs back to back to
// one server on loopback; both sides on this machine. Reports auth/s and
// latency percentiles. b.N is ignored beyond choosing the run length: each
// iteration is a 1-second slice of load.
func BenchmarkAcqsimThroughput(b *testing.B) {
	dir := b.TempDir()
	if err := InitCerts(filepath.Join(dir, "tls")); err != nil {
		b.Fatal(err)
	}
	srv, addr := startServer(b, dir)
	tcfg, err := ClientTLSFiles(filepath.Join(dir, "tls")).Load()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	res, err := Load(context.Background(), LoadConfig{Addr: addr, TLS: tcfg, Terminals: 1000,
		Duration: time.Duration(b.N) * time.Second, StateDir: b.TempDir()})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if res.Errors != 0 || res.Approved != res.Auths {
		b.Fatalf("load had errors: %s", res)
	}
	recs, fsyncs := srv.cfg.Journal.Fsyncs()
	b.ReportMetric(res.Rate, "auth/s")
	b.ReportMetric(float64(res.P50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(res.P99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(recs)/float64(max(1, fsyncs)), "records/fsync")
	b.Logf("%s", res)
}

func startServer(tb testing.TB, dir string) (*Server, string) {
	tb.Helper()
	j, err := OpenJournal(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	stls, err := ServerTLS(filepath.Join(dir, "tls"))
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := NewServer(Config{TLS: stls, Journal: j})
	if err != nil {
		tb.Fatal(err)
	}
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close(); j.Close() })
	return srv, a.String()
}

// BenchmarkRawTLSEchoThroughput is the peer of BenchmarkAcqsimThroughput:
// 1000 TLS connections on loopback exchanging the same byte sizes (framed
// 0100 and 0110) with an echo server, without ISO 8583, cryptograms,
// journal or reversal arming. Reports round trips/s.
func BenchmarkRawTLSEchoThroughput(b *testing.B) {
	const terminals = 1000
	reqSize, respSize := authFrameSizes(b)
	dir := b.TempDir()
	if err := InitCerts(filepath.Join(dir, "tls")); err != nil {
		b.Fatal(err)
	}
	stls, err := ServerTLS(filepath.Join(dir, "tls"))
	if err != nil {
		b.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", stls)
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				in, out := make([]byte, reqSize), make([]byte, respSize)
				for {
					if _, err := io.ReadFull(c, in); err != nil {
						return
					}
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}()
		}
	}()
	tcfg, err := ClientTLSFiles(filepath.Join(dir, "tls")).Load()
	if err != nil {
		b.Fatal(err)
	}
	tcfg.ServerName = "127.0.0.1"
	conns := make([]*tls.Conn, terminals)
	for i := range conns {
		if conns[i], err = tls.Dial("tcp", ln.Addr().String(), tcfg); err != nil {
			b.Fatal(err)
		}
		defer conns[i].Close()
	}
	var n atomic.Int64
	deadline := time.Now().Add(time.Duration(b.N) * time.Second)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func(c *tls.Conn) {
			defer wg.Done()
			req, resp := make([]byte, reqSize), make([]byte, respSize)
			for time.Now().Before(deadline) {
				if _, err := c.Write(req); err != nil {
					return
				}
				if _, err := io.ReadFull(c, resp); err != nil {
					return
				}
				n.Add(1)
			}
		}(c)
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "roundtrips/s")
	b.ReportMetric(float64(reqSize), "req-bytes")
	b.ReportMetric(float64(respSize), "resp-bytes")
}

// authFrameSizes packs the 0100 the load generator sends and the 0110
// the server answers, and returns their framed sizes.
func authFrameSizes(b *testing.B) (int, int) {
	codec, err := uplink.NewCodec(nil)
	if err != nil {
		b.Fatal(err)
	}
	p, _ := pan.Parse("4761739001010010")
	icc, err := ICCData(CardData{Scheme: "visa", PAN: p.Digits(), PSN: 1, ATC: 1, Amount: 1000, Currency: "978", UN: 1})
	if err != nil {
		b.Fatal(err)
	}
	req := &uplink.Message{MTI: "0100", PAN: p, ProcessingCode: "000000", Amount: 1000, HasAmount: true,
		Transmission: "1125221500", STAN: "000001", LocalTime: "221500", LocalDate: "1125", Expiry: "2812",
		MCC: "5411", EntryMode: uplink.EntryContactless, PSN: "001", Condition: "00",
		TerminalID: "L0000001", MerchantID: "LOADTEST0000001", Currency: "978", ICC: icc, TransactionID: "L0000001-100"}
	srv := &Server{codec: codec, cfg: Config{}, mkCache: map[mkCacheKey]arqc.Key{}}
	rb, err := codec.Encode(req)
	if err != nil {
		b.Fatal(err)
	}
	ok, sk, ac := srv.verifyARQC(req)
	if !ok {
		b.Fatal("sample ARQC does not verify")
	}
	k := arqc.ARPC(sk, ac, [2]byte{'0', '0'})
	resp := &uplink.Message{MTI: "0110", ProcessingCode: "000000", Amount: 1000, HasAmount: true,
		Transmission: "1125221500", STAN: "000001", LocalTime: "221500", LocalDate: "1125",
		TerminalID: "L0000001", MerchantID: "LOADTEST0000001", Currency: "978", TransactionID: "L0000001-100",
		ResponseCode: "00", AuthCode: "000001", RRN: "261125000001", ICC: tlv.Encode(0x91, append(k[:], '0', '0'))}
	pb, err := codec.Encode(resp)
	if err != nil {
		b.Fatal(err)
	}
	return len(rb) + 2, len(pb) + 2
}
