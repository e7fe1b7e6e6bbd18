package agent

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzDecodeStored: a ledger record from the file is hostile bytes (a
// damaged or edited file): decoding returns a payment or an error, never
// panics, and what decodes encodes back to a record that decodes the same.
func FuzzDecodeStored(f *testing.F) {
	p := Payment{ID: "a", Kind: KindPurchase, State: StateApproved, Amount: 1, Currency: "EUR", Created: time.Unix(1, 0).UTC()}
	good, _ := json.Marshal(stored{P: p, MD: []byte{1, 2}})
	f.Add(good)
	f.Add([]byte(`{"p":{"history":[{"state":"x"}]},"md":"AA=="}`))
	f.Add([]byte(`{"p":null}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeStored("x", b)
		if err != nil {
			return
		}
		again, err := json.Marshal(stored{P: got, MD: got.RequestMD})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeStored("x", again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}
