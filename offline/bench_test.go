package offline

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Benchmarks, to be compared within one run (absolute times drift on a
// shared machine):
//
//	go test -run XXX -bench 'Enqueue$|RawBoltUpdate$' -benchtime 2000x ./offline/
//	go test -run XXX -bench 'Forward|SenderOnly' ./offline/
//
// BenchmarkEnqueue (fsync'd, one writer) against BenchmarkRawBoltUpdate (a
// bbolt Update putting one value of the same stored size, same sync and
// freelist settings): target ratio <= 1.5. BenchmarkForwardLoopback drains
// advices to a TLS acquirer on 127.0.0.1 (target >= 2000/s);
// BenchmarkSenderOnlyLoopback sends the same messages with no queue.

const benchPayload = 256

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	p := func(q float64) float64 {
		return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Microsecond)
	}
	b.ReportMetric(p(0.50), "p50-us")
	b.ReportMetric(p(0.99), "p99-us")
}

func BenchmarkEnqueue(b *testing.B) {
	s := mustOpen(b, Options{Limits: openLimits, SkipCheck: true})
	payload := make([]byte, benchPayload)
	rand.Read(payload)
	ck := s.CardKey("4761739001010010")
	lat := make([]time.Duration, 0, b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := Entry{ID: fmt.Sprintf("bench-%09d", i), Kind: KindAdvice, Amount: 1234, Currency: "978", Payload: payload, CardKey: ck}
		t0 := time.Now()
		if err := s.Enqueue(ctx, e); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// storedSize is the bytes one enqueued entry adds to the file's values.
func storedSize() int {
	e := Entry{ID: "bench-000000000", Kind: KindAdvice, State: StatePending, Amount: 1234, Currency: "978", CardKey: make([]byte, 32), Seq: 1, Created: time.Now()}
	k := &keyring{}
	k.add(make([]byte, 32))
	sl, _ := k.seal(e.ID, make([]byte, benchPayload))
	return len(encodeEntry(&e)) + len(encodeSealed(sl))
}

func BenchmarkRawBoltUpdate(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	value := make([]byte, storedSize())
	rand.Read(value)
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := []byte(fmt.Sprintf("bench-%09d", i))
		t0 := time.Now()
		err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put(key, value) })
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
	b.ReportMetric(float64(len(value)), "value-bytes")
}

// BenchmarkEnqueueParallel shows commit sharing: 16 concurrent writers.
func BenchmarkEnqueueParallel(b *testing.B) {
	s := mustOpen(b, Options{Limits: openLimits, SkipCheck: true})
	payload := bytes.Repeat([]byte{1}, benchPayload)
	var mu sync.Mutex
	n := 0
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			id := fmt.Sprintf("p-%09d", n)
			mu.Unlock()
			if err := s.Enqueue(context.Background(), Entry{ID: id, Kind: KindAdvice, Amount: 1, Currency: "978", Payload: payload}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enqueues/s")
}

// BenchmarkForwardLoopback drains b.N advices through the Forwarder to a TLS
// acquirer on 127.0.0.1 (each round: one fsync'd claim, pipelined sends,
// one fsync'd settle).
func BenchmarkForwardLoopback(b *testing.B) {
	acq := newLoopAcq(b, nil)
	snd := newTLSSender(acq)
	defer snd.Close()
	s := mustOpen(b, Options{Limits: openLimits, SkipCheck: true})
	payload := bytes.Repeat([]byte{2}, benchPayload)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += 8 {
				if err := s.Enqueue(context.Background(), Entry{ID: fmt.Sprintf("f-%09d", i), Kind: KindAdvice, Amount: 1, Currency: "978", Payload: payload}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	f := &Forwarder{Store: s, Sender: snd, Window: 128}
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		n, err := f.Step(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatalf("stalled at %d of %d", sent, b.N)
		}
		sent += n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "advices/s")
	if j, _, _ := acq.snapshot(); len(j) != b.N {
		b.Fatalf("journal has %d of %d", len(j), b.N)
	}
}

// BenchmarkSenderOnlyLoopback is the peer of BenchmarkForwardLoopback: the
// same messages over the same sender with the same window, no queue.
func BenchmarkSenderOnlyLoopback(b *testing.B) {
	acq := newLoopAcq(b, nil)
	snd := newTLSSender(acq)
	defer snd.Close()
	payload := bytes.Repeat([]byte{2}, benchPayload)
	b.ResetTimer()
	for start := 0; start < b.N; start += 128 {
		var wg sync.WaitGroup
		for i := start; i < min(start+128, b.N); i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := snd.Forward(context.Background(), Entry{ID: fmt.Sprintf("f-%09d", i), Kind: KindAdvice, Payload: payload}); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "advices/s")
}

// BenchmarkEnqueueVsRawInterleaved alternates one Enqueue and one raw bbolt
// Update of the same stored size, so that machine noise hits both alike,
// and reports both percentiles and their ratios.
func BenchmarkEnqueueVsRawInterleaved(b *testing.B) {
	s := mustOpen(b, Options{Limits: openLimits, SkipCheck: true})
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, benchPayload)
	rand.Read(payload)
	value := make([]byte, storedSize())
	rand.Read(value)
	ck := s.CardKey("4761739001010010")
	enq := make([]time.Duration, 0, b.N)
	raw := make([]time.Duration, 0, b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("bench-%09d", i)
		t0 := time.Now()
		if err := s.Enqueue(ctx, Entry{ID: id, Kind: KindAdvice, Amount: 1234, Currency: "978", Payload: payload, CardKey: ck}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte(id), value) }); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		enq, raw = append(enq, t1.Sub(t0)), append(raw, t2.Sub(t1))
	}
	b.StopTimer()
	slices.Sort(enq)
	slices.Sort(raw)
	at := func(l []time.Duration, q float64) float64 {
		return float64(l[int(q*float64(len(l)-1))]) / float64(time.Microsecond)
	}
	b.ReportMetric(at(enq, 0.5), "enq-p50-us")
	b.ReportMetric(at(enq, 0.99), "enq-p99-us")
	b.ReportMetric(at(raw, 0.5), "raw-p50-us")
	b.ReportMetric(at(raw, 0.99), "raw-p99-us")
	b.ReportMetric(at(enq, 0.5)/at(raw, 0.5), "ratio-p50")
	b.ReportMetric(at(enq, 0.99)/at(raw, 0.99), "ratio-p99")
}
