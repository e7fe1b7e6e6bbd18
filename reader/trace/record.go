package trace

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"posagent/reader"
)

// RecordOptions configure a Recorder. The zero value records masked.
type RecordOptions struct {
	// Unmasked keeps PAN, track data, names and cryptograms as the card
	// sent them. Such a file must be handled like card data at rest.
	Unmasked bool
	// Meta is written at the top of the recording (source, scheme, card,
	// date ...). A "masked" entry is added unless Meta has one.
	Meta []Meta
}

// Recorder is a reader.Card that passes every command to the wrapped card
// and records the exchange. It is safe for concurrent use.
type Recorder struct {
	card reader.Card
	opts RecordOptions

	mu       sync.Mutex
	ex       []Exchange
	comments []string // for the next exchange
}

// NewRecorder wraps card.
func NewRecorder(card reader.Card, opts RecordOptions) *Recorder {
	return &Recorder{card: card, opts: opts}
}

// Transmit sends apdu to the wrapped card and records command and response.
// A transport error is passed through and noted as a comment (header and
// error only) before the next exchange; a response too short to hold a
// status word is passed through and noted the same way.
func (r *Recorder) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	resp, err := r.card.Transmit(ctx, apdu)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil:
		r.comments = append(r.comments, oneLine(fmt.Sprintf("%s: transmit failed: %v", Describe(apdu), err)))
	case len(apdu) < minCommand || len(apdu) > MaxAPDU:
		r.comments = append(r.comments, fmt.Sprintf("command of %d bytes not recorded", len(apdu)))
	case len(resp) < minResponse || len(resp) > MaxAPDU:
		r.comments = append(r.comments, oneLine(fmt.Sprintf("%s: card answered %d bytes, not recorded", Describe(apdu), len(resp))))
	default:
		r.ex = append(r.ex, Exchange{
			Command:  append([]byte{}, apdu...),
			Response: append([]byte{}, resp...),
			Comments: r.comments,
		})
		r.comments = nil
	}
	return resp, err
}

func oneLine(s string) string {
	return strings.TrimSpace(strings.NewReplacer("\r", " ", "\n", " ").Replace(s))
}

// Trace returns the recording so far: masked (see Mask) unless the options
// say Unmasked. The result is a copy; recording continues.
func (r *Recorder) Trace() *Trace {
	r.mu.Lock()
	t := &Trace{
		Meta:      append([]Meta(nil), r.opts.Meta...),
		Comments:  append([]string(nil), r.comments...),
		Exchanges: r.ex,
	}
	t = t.clone()
	r.mu.Unlock()
	if t.Get("masked") == "" {
		v := "yes"
		if r.opts.Unmasked {
			v = "no"
		}
		t.Meta = append(t.Meta, Meta{Key: "masked", Value: v})
	}
	if r.opts.Unmasked {
		return t
	}
	return Mask(t)
}
