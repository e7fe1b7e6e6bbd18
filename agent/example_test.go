package agent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"posagent/agent"
	"posagent/agent/input/sim"
	"posagent/emv"
	"posagent/offline"
)

// An engine with the simulated reader and no acquirer: a card payment
// within the floor limit is approved offline, its advice queued in the
// same commit; one above it is declined.
func ExampleEngine() {
	dir, _ := os.MkdirTemp("", "agent-example-")
	defer os.RemoveAll(dir)
	reader, _ := sim.New(sim.Options{Default: "visa"})
	term := emv.DefaultConfig()
	term.TestKeys = true // software cards are signed by test CAs
	eng, err := agent.Open(agent.Config{
		DataFile:   filepath.Join(dir, "data", offline.DBFileName),
		Store:      offline.Options{Limits: map[string]offline.Limit{"*": {PerTransaction: 5000}}},
		Readers:    []agent.Reader{reader},
		Terminal:   &term,
		FloorLimit: 2000,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer eng.Close(context.Background())
	ctx := context.Background()
	for _, amount := range []int64{1500, 2500} {
		p, err := eng.Pay(ctx, agent.PaymentRequest{ID: fmt.Sprint("order-", amount), Amount: amount, Currency: "EUR"})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(p.ID, p.State, p.Reason, p.MaskedPAN)
	}
	q, _ := eng.QueueEntries()
	fmt.Println("queued:", len(q), q[0].Kind, q[0].Payment)
	// Output:
	// order-1500 approved_offline  476173******0010
	// order-2500 declined acquirer_unavailable 476173******0010
	// queued: 1 advice order-1500
}
