package emv

import (
	"context"
	"errors"
	"testing"
)

// fuzzCard answers each command with the next chunk of the fuzz input: a
// length byte, then that many bytes (the status word included or not).
type fuzzCard struct{ data []byte }

var errExhausted = errors.New("fuzz input exhausted")

func (c *fuzzCard) Transmit(_ context.Context, _ []byte) ([]byte, error) {
	if len(c.data) == 0 {
		return nil, errExhausted
	}
	n := int(c.data[0])
	c.data = c.data[1:]
	if n > len(c.data) {
		n = len(c.data)
	}
	r := c.data[:n]
	c.data = c.data[n:]
	return r, nil
}

// chunks builds a fuzz input from responses.
func chunks(resps ...string) []byte {
	var b []byte
	for _, r := range resps {
		x := hx(r)
		b = append(b, byte(len(x)))
		b = append(b, x...)
	}
	return b
}

// FuzzKernel drives the whole kernel with a card whose every answer comes
// from the fuzzer: whatever the bytes, Run must end in an outcome or a card
// error, never a panic or a hang.
func FuzzKernel(f *testing.F) {
	visa := "A0000000031010"
	f.Add(chunks(ppseFCI([4]string{visa, "VISA", "01", ""}), fci(visa, "VISA"), "7712820220009404080101009F2608AABBCCDDEEFF00119000", "70125A0849999999999999995F24032512319000"))
	f.Add(chunks(ppseFCI([4]string{"A0000000041010", "MC", "01", ""}), fci("A0000000041010", "MC"), "7708820219809404080101009000", "70085A084999999999999999 9000"))
	f.Add(chunks("6A82", "6C05", "6101", "9000"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := DefaultConfig()
		cfg.AIDs[0].FloorLimit = 10000
		cfg.TestKeys = true
		term := &Terminal{Config: cfg}
		res, err := term.Run(context.Background(), &fuzzCard{data: data}, Transaction{Amount: 100})
		if err != nil {
			if !errors.Is(err, ErrNoCard) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if res.Outcome == OutcomeNone {
			t.Fatalf("no outcome: %+v", res)
		}
		if res.Outcome == Approved && (res.ODA == nil || res.ODA.Result != ODAOK) {
			t.Fatalf("approved offline without successful ODA: %+v", res.ODA)
		}
	})
}
