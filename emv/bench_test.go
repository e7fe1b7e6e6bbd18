package emv_test

import (
	"context"
	"testing"
	"time"

	"posagent/emv"
	"posagent/emv/cardsim"
)

// recordingCard keeps the commands the kernel sent.
type recordingCard struct {
	card *cardsim.Card
	cmds [][]byte
}

func (r *recordingCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	r.cmds = append(r.cmds, append([]byte(nil), apdu...))
	return r.card.Transmit(ctx, apdu)
}

// fixedRand gives a constant unpredictable number: benchmarks only.
type fixedRand struct{}

func (fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0x5A
	}
	return len(p), nil
}

func benchTerminal() *emv.Terminal {
	cfg := emv.DefaultConfig()
	cfg.TestKeys = true
	for i := range cfg.AIDs {
		cfg.AIDs[i].FloorLimit = 10000 // offline approvals possible
	}
	unix := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	return &emv.Terminal{Config: cfg, Now: func() time.Time { return unix },
		Rand: fixedRand{}}
}

// kernelBench runs whole transactions (Entry Point, kernel, RSA chain and
// signature verification) against an in-process software card.
func kernelBench(b *testing.B, preset, wantODA string) {
	kernelBenchAt(b, preset, 1000, emv.Approved, wantODA)
}

// kernelBenchAt runs whole transactions of amount that must end in want
// with ODA method wantODA verified.
func kernelBenchAt(b *testing.B, preset string, amount int64, want emv.Outcome, wantODA string) {
	p, err := cardsim.Preset(preset)
	if err != nil {
		b.Fatal(err)
	}
	card, err := cardsim.New(p)
	if err != nil {
		b.Fatal(err)
	}
	term := benchTerminal()
	tx := emv.Transaction{Amount: amount}
	res, err := term.Run(context.Background(), card, tx)
	if err != nil || res.Outcome != want || res.ODA == nil || res.ODA.Method != wantODA || res.ODA.Result != emv.ODAOK {
		b.Fatalf("warm-up: %v %+v %+v", err, res, res.ODA)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		card.Reset()
		if _, err := term.Run(context.Background(), card, tx); err != nil {
			b.Fatal(err)
		}
	}
}

// cardOnlyBench is the raw baseline: the card answering the same commands
// the kernel sends, without the kernel.
func cardOnlyBench(b *testing.B, preset string) { cardOnlyBenchAt(b, preset, 1000) }

// cardOnlyBenchAt is cardOnlyBench for a transaction of amount.
func cardOnlyBenchAt(b *testing.B, preset string, amount int64) {
	p, _ := cardsim.Preset(preset)
	card, err := cardsim.New(p)
	if err != nil {
		b.Fatal(err)
	}
	rec := &recordingCard{card: card}
	if _, err := benchTerminal().Run(context.Background(), rec, emv.Transaction{Amount: amount}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		card.Reset()
		for _, c := range rec.cmds {
			if _, err := card.Transmit(context.Background(), c); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkKernelVisaFDDA(b *testing.B)      { kernelBench(b, "visa", emv.ODAFDDA) }
func BenchmarkKernelMastercardCDA(b *testing.B) { kernelBench(b, "mastercard", emv.ODACDA) }
func BenchmarkCardOnlyVisa(b *testing.B)        { cardOnlyBench(b, "visa") }
func BenchmarkCardOnlyMastercard(b *testing.B)  { cardOnlyBench(b, "mastercard") }

// The C-3 online path with ODA for online authorisations: above the floor
// limit the card returns an ARQC with its fDDA signature, and the reader
// verifies the chain and the signature before going online.
func BenchmarkKernelVisaOnlineFDDA(b *testing.B) {
	kernelBenchAt(b, "visa", 20000, emv.OnlineRequest, emv.ODAFDDA)
}
func BenchmarkCardOnlyVisaOnline(b *testing.B) { cardOnlyBenchAt(b, "visa", 20000) }
