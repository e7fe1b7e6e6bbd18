package agent_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"posagent/agent"
	"posagent/agent/input/sim"
	"posagent/emv"
	"posagent/emv/cardsim"
	"posagent/offline"
	"posagent/uplink"
)

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		i := max(0, min(int(float64(len(lat))*p)-1, len(lat)-1))
		return float64(lat[i].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// BenchmarkEnginePayment: one online card payment through the engine, end
// to end: simulated reader (Visa software card), kernel, states in the
// fsync'd bbolt file (armed reversal + final state: two fsyncs), uplink
// over loopback mutual TLS to acqsim with its fsync'd journal.
func BenchmarkEnginePayment(b *testing.B) {
	e := newEnv(b, envOpts{reader: sim.Options{Default: "visa"}})
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		p, err := e.eng.Pay(ctx, agent.PaymentRequest{ID: fmt.Sprintf("bench-%d", i), Amount: amtOnline, Currency: "EUR"})
		lat = append(lat, time.Since(start))
		if err != nil || p.State != agent.StateApproved {
			b.Fatalf("%s %v", p.State, err)
		}
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// parts are the engine's pieces set up alone, on the same acquirer.
type parts struct {
	card   *cardsim.Card
	term   *emv.Terminal
	store  *offline.Store
	client *uplink.Client
}

func newParts(b *testing.B) *parts {
	e := newEnv(b, envOpts{})
	e.eng.Close(context.Background())
	e.eng = nil
	p := &parts{}
	pr, _ := cardsim.Preset("visa")
	var err error
	if p.card, err = cardsim.New(pr); err != nil {
		b.Fatal(err)
	}
	kcfg := *e.cfg.Terminal
	kcfg.TestKeys = true
	p.term = &emv.Terminal{Config: kcfg}
	if p.store, err = offline.Open(filepath.Join(b.TempDir(), offline.DBFileName), offline.Options{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.store.Close() })
	stan, err := uplink.OpenSTAN(filepath.Join(b.TempDir(), "stan"), 0)
	if err != nil {
		b.Fatal(err)
	}
	ucfg := *e.cfg.Acquirer
	ucfg.Queue, ucfg.STAN, ucfg.TerminalID, ucfg.MerchantID = p.store, stan, "POSAGT01", "000000000000001"
	if p.client, err = uplink.New(ucfg); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.client.Close() })
	if err := p.client.WaitReady(context.Background()); err != nil {
		b.Fatal(err)
	}
	return p
}

func (p *parts) kernel(b *testing.B) *emv.Result {
	p.card.Reset()
	res, err := p.term.Run(context.Background(), p.card, emv.Transaction{Amount: amtOnline})
	if err != nil || res.Outcome != emv.OnlineRequest {
		b.Fatalf("kernel: %v %v", res.Outcome, err)
	}
	return res
}

func (p *parts) online(b *testing.B, id string, res *emv.Result) {
	t2 := res.Track2
	r, err := p.client.Purchase(context.Background(), uplink.Transaction{ID: id, PAN: res.PAN, Track2: &t2,
		Amount: amtOnline, Currency: "978", EntryMode: uplink.EntryContactless, ICC: res.ICCData})
	if err != nil || !r.Approved() {
		b.Fatalf("uplink: %v %v", r, err)
	}
}

// BenchmarkPaymentParts is the sum of the engine's parts measured alone in
// the same run: kernel + software card in process, then the uplink round
// trip with its reversal armed and cancelled in an fsync'd offline.Store
// (the same two fsyncs the engine spends). The ratio of
// BenchmarkEnginePayment to it is the engine's own cost.
func BenchmarkPaymentParts(b *testing.B) {
	p := newParts(b)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		p.online(b, fmt.Sprintf("parts-%d", i), p.kernel(b))
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkPartKernelCard: the kernel on the Visa software card alone.
func BenchmarkPartKernelCard(b *testing.B) {
	p := newParts(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.kernel(b)
	}
}

// BenchmarkPartUplinkRoundTrip: the uplink request alone (reversal armed
// and cancelled in the fsync'd store, acqsim journal fsync'd).
func BenchmarkPartUplinkRoundTrip(b *testing.B) {
	p := newParts(b)
	res := p.kernel(b)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		p.online(b, fmt.Sprintf("up-%d", i), res)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// BenchmarkPartStoreCommit: one fsync'd Commit of a payment-sized record
// in the caller's own bucket (what each of the engine's two commits costs
// on the disk).
func BenchmarkPartStoreCommit(b *testing.B) {
	p := newParts(b)
	value := make([]byte, 1500) // a payment record with its receipt
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		err := p.store.Commit(context.Background(), "bench", func(tx *offline.Tx) error {
			bk, err := tx.Bucket("bench")
			if err != nil {
				return err
			}
			return bk.Put([]byte(fmt.Sprint(i)), value)
		})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportLatency(b, lat)
}
