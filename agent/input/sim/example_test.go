package sim_test

import (
	"context"
	"fmt"

	"posagent/agent/input/sim"
	"posagent/emv/cardsim"
)

// A simulated reader that taps a Visa card, except for amounts from 51.00
// to 51.99 (an expired card: the card declines) and from 1000.00 (a
// Mastercard).
func ExampleNew() {
	r, err := sim.New(sim.Options{Name: "desk", Default: "visa", Rules: []sim.Rule{
		{Min: 5100, Max: 5199, Preset: "expired-card"},
		{Min: 100000, Preset: "mastercard"},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, amount := range []int64{1234, 5150, 250000} {
		s, _ := r.WaitCard(context.Background(), amount)
		card := s.(interface{ Profile() cardsim.Profile }).Profile()
		fmt.Println(amount, card.Name, card.MaskedPAN())
		s.Close()
	}
	// Output:
	// 1234 visa 476173******0010
	// 5150 expired-card 476173******0010
	// 250000 mastercard 541333******0434
}
