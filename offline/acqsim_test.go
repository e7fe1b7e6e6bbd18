package offline_test

// Forwarding against the real acquirer simulator (uplink/acqsim) through
// the real ISO 8583 client (uplink.Client), both on loopback TLS.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"posagent/emv/pan"
	"posagent/offline"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

const (
	acqPAN = "4761739001010010"
	acqTID = "T0000042"
)

type acqEnv struct {
	srv         *acqsim.Server
	journal     *acqsim.Journal
	journalPath string
	client      *uplink.Client
	store       *offline.Store
}

func newAcqEnv(tb testing.TB, rules string, noSync bool) *acqEnv {
	tb.Helper()
	dir := tb.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	if err := acqsim.InitCerts(tlsDir); err != nil {
		tb.Fatal(err)
	}
	e := &acqEnv{journalPath: filepath.Join(dir, "journal.jsonl")}
	var err error
	if e.journal, err = acqsim.OpenJournal(e.journalPath); err != nil {
		tb.Fatal(err)
	}
	if noSync {
		e.journal.DisableSync()
	}
	stls, err := acqsim.ServerTLS(tlsDir)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := acqsim.Config{TLS: stls, Journal: e.journal}
	if rules != "" {
		if cfg.Rules, err = acqsim.ParseRules([]byte(rules)); err != nil {
			tb.Fatal(err)
		}
	}
	if e.srv, err = acqsim.NewServer(cfg); err != nil {
		tb.Fatal(err)
	}
	addr, err := e.srv.Listen("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	e.store, err = offline.Open(filepath.Join(dir, offline.DBFileName), offline.Options{Limits: map[string]offline.Limit{"*": {}}, SkipCheck: true})
	if err != nil {
		tb.Fatal(err)
	}
	stan, err := uplink.OpenSTAN(filepath.Join(dir, "stan"), 0)
	if err != nil {
		tb.Fatal(err)
	}
	ctls, err := acqsim.ClientTLSFiles(tlsDir).Load()
	if err != nil {
		tb.Fatal(err)
	}
	e.client, err = uplink.New(uplink.Config{Addr: addr.String(), TLS: ctls, TerminalID: acqTID, MerchantID: "MERCHANT0000042",
		MCC: "5411", AcquirerID: "12345", Queue: e.store, STAN: stan, ResponseTimeout: 2 * time.Second,
		ConnectWait: 2 * time.Second, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		e.client.Close()
		e.srv.Close()
		e.journal.Close()
		if err := e.store.Check(); err != nil {
			tb.Errorf("queue check: %v", err)
		}
		e.store.Close()
	})
	return e
}

// advise queues n offline approvals through the uplink client (which builds
// the 0220 payload and enqueues it in the store).
func (e *acqEnv) advise(tb testing.TB, n int, amount func(i int) int64) []string {
	tb.Helper()
	p, err := pan.Parse(acqPAN)
	if err != nil {
		tb.Fatal(err)
	}
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				a := amount(i)
				icc, err := acqsim.ICCData(acqsim.CardData{Scheme: "visa", PAN: acqPAN, PSN: 1, ATC: uint16(i + 1), Amount: a, Currency: "978", UN: 0x11223344})
				if err != nil {
					errs <- err
					return
				}
				ids[i] = fmt.Sprintf("adv-%06d", i)
				t := uplink.Transaction{ID: ids[i], PAN: p, Expiry: "2812", PSN: "001", Amount: a, Currency: "978", EntryMode: uplink.EntryContactless, ICC: icc}
				if err := e.client.Advice(context.Background(), t, "Y1    "); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return ids
}

// readJournal returns the acqsim journal records of kind advice per txn.
func readJournal(tb testing.TB, path string) map[string][]acqsim.Record {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[string][]acqsim.Record{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var r acqsim.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			tb.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		if r.Kind == acqsim.KindAdvice {
			out[r.TransactionID] = append(out[r.TransactionID], r)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestForwardAcqsimFaults forwards advices to acqsim while it cycles
// through its fault modes (connections dropped before and after
// journalling, garbage, truncated and bad-bitmap answers, a missing field
// 39, a lying frame length, closes after a few messages). At the end the
// journal holds each advice exactly once (repeats only as duplicates), at
// most one original 0220 per advice, the declined advice raised its event,
// and the format-error advice is parked.
func TestForwardAcqsimFaults(t *testing.T) {
	const n = 300
	e := newAcqEnv(t, `{"rules":[{"mti":["0220","0221"],"amount":666,"response_code":"05"},{"mti":["0220","0221"],"amount":777,"response_code":"30"}]}`, false)
	ids := e.advise(t, n, func(i int) int64 {
		switch i {
		case 50:
			return 666
		case 120:
			return 777
		}
		return int64(100 + i)
	})
	var mu sync.Mutex
	var events []offline.Event
	f := &offline.Forwarder{Store: e.store, Sender: e.client, Window: 32, BackoffBase: 2 * time.Millisecond, BackoffMax: 40 * time.Millisecond,
		Poll: 20 * time.Millisecond, OnEvent: func(ev offline.Event) { mu.Lock(); events = append(events, ev); mu.Unlock() }}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	fwDone := make(chan error, 1)
	go func() { fwDone <- f.Run(ctx) }()

	faults := []acqsim.Fault{
		{Kind: acqsim.FaultDropAfter}, {}, {Kind: acqsim.FaultDropBefore}, {}, {Kind: acqsim.FaultGarbage},
		{CloseAfter: 7}, {Kind: acqsim.FaultTruncated}, {}, {Kind: acqsim.FaultMissingField}, {Kind: acqsim.FaultBadBitmap},
		{}, {Kind: acqsim.FaultBadLength}, {CloseAfter: 3}, {Kind: acqsim.FaultDropAfter},
	}
	for _, fl := range faults {
		e.srv.SetFault(fl)
		time.Sleep(40 * time.Millisecond)
	}
	e.srv.SetFault(acqsim.Fault{})
	for {
		st, err := e.store.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.ByState[offline.StateDone]+st.ByState[offline.StateFailed] == n {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("queue not drained: %v", st.ByState)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-fwDone

	journal := readJournal(t, e.journalPath)
	repeats, dups := 0, 0
	for i, id := range ids {
		recs := journal[id]
		originals, first := 0, 0
		for _, r := range recs {
			if !r.Duplicate {
				originals++
			} else {
				dups++
			}
			if r.MTI == uplink.MTIAdvice {
				first++
			} else {
				repeats++
			}
		}
		if originals != 1 {
			t.Errorf("%s: %d journal records that are not duplicates, want exactly 1 (%+v)", id, originals, recs)
		}
		if first > 1 {
			t.Errorf("%s: the original 0220 arrived %d times (resends must be 0221)", id, first)
		}
		ent, err := e.store.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		want := offline.StateDone
		if i == 120 {
			want = offline.StateFailed
		}
		if ent.State != want || (i == 50) != ent.Declined {
			t.Errorf("%s: state %s declined %v", id, ent.State, ent.Declined)
		}
	}
	if len(journal) != n {
		t.Errorf("journal holds %d advices, want %d", len(journal), n)
	}
	mu.Lock()
	defer mu.Unlock()
	var declined, parked int
	for _, ev := range events {
		switch {
		case ev.Type == offline.EventDeclinedOffline && ev.ID == ids[50]:
			declined++
		case ev.Type == offline.EventParked && ev.ID == ids[120]:
			parked++
		default:
			t.Errorf("unexpected event %+v", ev)
		}
	}
	if declined != 1 || parked != 1 {
		t.Errorf("events: %d declined, %d parked", declined, parked)
	}
	faultsSeen := e.srv.Stats.Faults.Load()
	if faultsSeen == 0 || repeats == 0 {
		t.Errorf("faults %d, repeats %d: the fault modes were not exercised", faultsSeen, repeats)
	}
	t.Logf("%d advices; acqsim injected %d faults; %d repeats (0221) reached it, %d answered as duplicates", n, faultsSeen, repeats, dups)
}

// BenchmarkForwardAcqsim drains b.N queued advices to acqsim over loopback
// TLS with the Forwarder (fsync'd claim and settle per round, pipelined
// sends, window 128). Its peer in the same run is
// BenchmarkAcqsimClientOnly: the same client and server, same window, no
// queue. The acqsim journal does not fsync in either (it measures us, not
// its disk).
func BenchmarkForwardAcqsim(b *testing.B) {
	e := newAcqEnv(b, "", true)
	e.advise(b, b.N, func(i int) int64 { return 1000 })
	f := &offline.Forwarder{Store: e.store, Sender: e.client, Window: 128}
	ctx := context.Background()
	if err := e.client.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		n, err := f.Step(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			st, _ := e.store.Stats()
			if st.ByState[offline.StateDone] == b.N {
				break
			}
			time.Sleep(time.Millisecond) // entries backing off after a failed send
			continue
		}
		sent += n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "advices/s")
	if st, _ := e.store.Stats(); st.ByState[offline.StateDone] != b.N {
		b.Fatalf("done %d of %d", st.ByState[offline.StateDone], b.N)
	}
}

func BenchmarkAcqsimClientOnly(b *testing.B) {
	e := newAcqEnv(b, "", true)
	ids := e.advise(b, b.N, func(i int) int64 { return 1000 })
	entries := make([]offline.Entry, len(ids))
	for i, id := range ids {
		ent, err := e.store.Get(id)
		if err != nil {
			b.Fatal(err)
		}
		entries[i] = ent
	}
	ctx := context.Background()
	if err := e.client.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for start := 0; start < b.N; start += 128 {
		var wg sync.WaitGroup
		for i := start; i < min(start+128, b.N); i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := e.client.Forward(ctx, entries[i]); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "advices/s")
}
