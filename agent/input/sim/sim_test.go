package sim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"posagent/agent/input/sim"
	"posagent/emv/cardsim"
)

func TestPresetByAmountRule(t *testing.T) {
	r, err := sim.New(sim.Options{Default: "visa", Rules: []sim.Rule{
		{Min: 5100, Max: 5199, Preset: "expired-card"},
		{Min: 100000, Preset: "mastercard"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for amount, want := range map[int64]string{100: "visa", 5150: "expired-card", 200000: "mastercard"} {
		s, err := r.WaitCard(context.Background(), amount)
		if err != nil {
			t.Fatal(err)
		}
		got := s.(interface{ Profile() cardsim.Profile }).Profile().Name
		if got != want {
			t.Fatalf("amount %d: card %s, want %s", amount, got, want)
		}
		s.Close()
	}
}

func TestPresentBeatsRulesAndWaits(t *testing.T) {
	r, err := sim.New(sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := r.WaitCard(ctx, 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("no card, no default: %v", err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		r.Present("unionpay")
	}()
	s, err := r.WaitCard(context.Background(), 100)
	if err != nil || s == nil {
		t.Fatal(err)
	}
	if err := r.Present("no-such-card"); !errors.Is(err, sim.ErrNoPreset) {
		t.Fatalf("unknown preset: %v", err)
	}
	if _, err := sim.New(sim.Options{Rules: []sim.Rule{{Preset: "nope"}}}); !errors.Is(err, sim.ErrNoPreset) {
		t.Fatalf("unknown preset in a rule: %v", err)
	}
}
