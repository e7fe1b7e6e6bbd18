package offline

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Kind is what an entry is for.
type Kind string

// Entry kinds. The forwarder sends reversals first, then advices.
const (
	KindAdvice   Kind = "advice"   // an offline approval to report (0220)
	KindReversal Kind = "reversal" // an armed or released reversal (0400)
	// KindCompletion completes an online pre-authorisation (0220 with the
	// authorised code): sent after the advices, outside the offline limits.
	KindCompletion Kind = "completion"
	// KindRecord is never sent: it keeps, encrypted, what a later
	// operation on an approved transaction needs (a void's reversal, a
	// pre-authorisation's completion, a referenced refund). It is enqueued
	// in StateKept and finished with Tx.Finish.
	KindRecord Kind = "record"
)

// State is where an entry is in its life.
type State string

// Entry states.
const (
	// StateHeld: an armed reversal that must not be sent until Release.
	StateHeld State = "held"
	// StatePending: waiting to be sent (or re-sent after a failure).
	StatePending State = "pending"
	// StateInFlight: handed to the Sender, answer not yet recorded. Found
	// at Open, it means the process died mid-send: it is resent as a repeat.
	StateInFlight State = "in-flight"
	// StateDone: acknowledged by the acquirer (or declined by the issuer).
	StateDone State = "done"
	// StateFailed: parked after a permanent rejection; see Reason.
	StateFailed State = "failed"
	// StateKept: a KindRecord entry that is kept until Finish (never sent).
	StateKept State = "kept"
)

// Entry is one queued message. Payload is plain in memory and encrypted at
// rest; it is opaque to this package (the uplink's serialized message).
type Entry struct {
	ID          string // the transaction id: also the idempotency key
	Kind        Kind
	State       State
	Created     time.Time
	NextAttempt time.Time
	Attempts    int
	Repeat      bool   // was sent (or in flight at a crash) before: send as a repeat (0221/0421)
	Reason      string // why failed (or the issuer's decline)
	Amount      int64  // minor units
	Currency    string // ISO 4217 numeric, e.g. "978"
	KeyID       string // id of the key the payload is encrypted with
	Payload     []byte // opaque; AES-256-GCM encrypted at rest, plain in memory

	// CardKey is the per-card velocity key from Store.CardKey (an HMAC of
	// the PAN, never the PAN). Optional; advices with a CardKey count
	// towards the per-card limits.
	CardKey []byte
	// Declined is set when the issuer declined this offline approval.
	Declined bool
	// Finished is when the entry became done or failed.
	Finished time.Time
	// Seq is the entry's position in the queue (assigned by Enqueue).
	Seq uint64
}

// String describes the entry without payload or card key.
func (e Entry) String() string {
	return fmt.Sprintf("%s %s %s %d %s attempts=%d", e.ID, e.Kind, e.State, e.Amount, e.Currency, e.Attempts)
}

// GoString, Format, MarshalText, MarshalJSON and LogValue never show the
// decrypted payload (card data) or the card key: every verb prints String,
// JSON holds the bookkeeping fields only.
func (e Entry) GoString() string { return "offline.Entry{" + e.String() + "}" }

// Format prints String for every verb.
func (e Entry) Format(f fmt.State, verb rune) { fmt.Fprint(f, e.String()) }

// MarshalText writes String.
func (e Entry) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// MarshalJSON writes the entry's bookkeeping (what `posagent queue export`
// prints): no payload, no card key, the reason with digit runs masked.
func (e Entry) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID          string    `json:"id"`
		Kind        Kind      `json:"kind"`
		State       State     `json:"state"`
		Amount      int64     `json:"amount"`
		Currency    string    `json:"currency"`
		Created     time.Time `json:"created"`
		NextAttempt time.Time `json:"next_attempt,omitzero"`
		Finished    time.Time `json:"finished,omitzero"`
		Attempts    int       `json:"attempts"`
		Repeat      bool      `json:"repeat"`
		Declined    bool      `json:"declined,omitempty"`
		Reason      string    `json:"reason,omitempty"`
		KeyID       string    `json:"key_id"`
		Seq         uint64    `json:"seq"`
	}{e.ID, e.Kind, e.State, e.Amount, e.Currency, e.Created, e.NextAttempt, e.Finished, e.Attempts, e.Repeat,
		e.Declined, MaskDigits(e.Reason), e.KeyID, e.Seq})
}

// LogValue logs String.
func (e Entry) LogValue() slog.Value { return slog.StringValue(e.String()) }

// kindRank orders kinds in the queue: reversals before advices before the rest.
func kindRank(k Kind) byte {
	switch k {
	case KindReversal:
		return 0
	case KindAdvice:
		return 1
	default:
		return 2
	}
}

func validKind(k Kind) bool {
	return k == KindAdvice || k == KindReversal || k == KindCompletion || k == KindRecord
}

// queued reports whether an entry in state s sits in the send queue.
func queued(s State) bool { return s == StateHeld || s == StatePending || s == StateInFlight }

var stateCodes = []State{StateHeld, StatePending, StateInFlight, StateDone, StateFailed, StateKept}

func stateCode(s State) byte {
	for i, v := range stateCodes {
		if v == s {
			return byte(i)
		}
	}
	return 255
}
