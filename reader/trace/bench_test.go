package trace

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"posagent/emv"
	"posagent/emv/cardsim"
	"posagent/emv/tlv"
)

// Benchmarks come in pairs measured in the same run; compare the ratio, not
// the absolute times (this machine is shared).

func benchFile(b *testing.B) []byte {
	raw, err := os.ReadFile("../../testdata/traces/FailErrorCard.trace") // the largest sample
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkParse is the strict parser; its baseline is the least a reader of
// the format must do: split lines and hex-decode the APDU lines.
func BenchmarkParse(b *testing.B) {
	raw := benchFile(b)
	b.Run("trace.Parse", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := Parse(bytes.NewReader(raw)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-scanner-hexdecode", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			sc := bufio.NewScanner(bytes.NewReader(raw))
			n := 0
			for sc.Scan() {
				l := sc.Text()
				if len(l) > 2 && (l[0] == '>' || l[0] == '<') && l[2] != '*' {
					v, err := hex.DecodeString(strings.ReplaceAll(l[2:], " ", ""))
					if err != nil {
						b.Fatal(err)
					}
					n += len(v)
				}
			}
			if n == 0 {
				b.Fatal("nothing decoded")
			}
		}
	})
}

// BenchmarkMask masks a recorded session; its baseline is decoding the TLV
// of every response, which masking must do anyway.
func BenchmarkMask(b *testing.B) {
	tr, err := Parse(bytes.NewReader(benchFile(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("trace.Mask", func(b *testing.B) {
		for b.Loop() {
			Mask(tr)
		}
	})
	b.Run("baseline-tlv-parse-responses", func(b *testing.B) {
		for b.Loop() {
			for _, ex := range tr.Exchanges {
				tlv.Parse(ex.Response[:len(ex.Response)-2])
			}
		}
	})
}

// BenchmarkKernel runs one Mastercard CDA transaction on a replayed
// recording and, as the peer, on the live software card it was recorded
// from (which computes the RSA signature the replay only reads).
func BenchmarkKernel(b *testing.B) {
	p, err := cardsim.Preset("mastercard")
	if err != nil {
		b.Fatal(err)
	}
	card, err := cardsim.New(p)
	if err != nil {
		b.Fatal(err)
	}
	date := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	term := &emv.Terminal{Config: testKeysConfig(), Now: func() time.Time { return date }}
	rec := NewRecorder(card, RecordOptions{Unmasked: true})
	ctx := context.Background()
	if _, err := term.Run(ctx, rec, emv.Transaction{Amount: 1234}); err != nil {
		b.Fatal(err)
	}
	tr := rec.Trace()
	b.Run("replay", func(b *testing.B) {
		for b.Loop() {
			r := NewReplayer(tr)
			res, err := term.Run(ctx, r, emv.Transaction{Amount: 1234})
			if err != nil || res.ODA == nil || res.ODA.Result != emv.ODAOK || r.Divergence() != nil {
				b.Fatalf("%v %+v %v", err, res.ODA, r.Divergence())
			}
		}
	})
	b.Run("peer-live-cardsim", func(b *testing.B) {
		for b.Loop() {
			res, err := term.Run(ctx, card, emv.Transaction{Amount: 1234})
			if err != nil || res.ODA == nil || res.ODA.Result != emv.ODAOK {
				b.Fatalf("%v %+v", err, res.ODA)
			}
		}
	})
}
