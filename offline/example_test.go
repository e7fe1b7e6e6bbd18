package offline_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"posagent/offline"
)

// printSender stands in for the uplink client.
type printSender struct{}

func (printSender) Forward(_ context.Context, e offline.Entry) error {
	fmt.Printf("sent %s %s %d repeat=%v\n", e.Kind, e.ID, e.Amount, e.Repeat)
	return nil
}

func Example() {
	dir, _ := os.MkdirTemp("", "offline-example")
	defer os.RemoveAll(dir)
	s, err := offline.Open(filepath.Join(dir, offline.DBFileName), offline.Options{
		Limits: map[string]offline.Limit{"978": {PerTransaction: 5000, Count: 100, CardCount: 2}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ctx := context.Background()

	card := s.CardKey("4761739001010010") // an HMAC: the PAN is not stored
	for _, amount := range []int64{1200, 9900} {
		id := fmt.Sprintf("txn-%d", amount)
		err := s.Enqueue(ctx, offline.Entry{ID: id, Kind: offline.KindAdvice, Amount: amount, Currency: "978", CardKey: card, Payload: []byte("0220...")})
		var le *offline.LimitError
		if errors.As(err, &le) {
			fmt.Println("refused:", le.Limit)
		}
	}
	// An armed reversal waits until the online answer is known.
	s.Enqueue(ctx, offline.Entry{ID: "txn-online", Kind: offline.KindReversal, State: offline.StateHeld, Amount: 700, Currency: "978"})
	s.Release("txn-online") // no answer came: it must go out

	f := &offline.Forwarder{Store: s, Sender: printSender{}, Window: 1}
	for {
		n, _ := f.Step(ctx)
		if n == 0 {
			break
		}
	}
	// Output:
	// refused: per-transaction amount
	// sent reversal txn-online 700 repeat=false
	// sent advice txn-1200 1200 repeat=false
}
