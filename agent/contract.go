package agent

import (
	"context"
	"errors"
	"time"

	"posagent/emv"
)

// State is a payment's durable state.
type State string

// Payment states. A payment is persisted in a state before the state is
// visible to anyone (API, events, logs).
const (
	StateCreated         State = "created"
	StateWaitingForCard  State = "waiting_for_card"
	StateReading         State = "reading"
	StateOnline          State = "online"           // request armed (reversal durable) and sent
	StateApproved        State = "approved"         // online approval (or an authorised pre-authorisation)
	StateApprovedOffline State = "approved_offline" // approved without the acquirer; advice queued in the same commit
	StateDeclined        State = "declined"
	StateAborted         State = "aborted" // cancelled before any request left
	StateFailed          State = "failed"
	StateReversed        State = "reversed" // a request left and was reversed (abort, no answer, failure after approval)
	StateRefunded        State = "refunded" // a refund transaction that was approved
	StateVoided          State = "voided"   // an approved payment reversed by a void (or the auto-void of a pre-authorisation)
	StateCaptured        State = "captured" // a pre-authorisation captured
)

// Final reports whether no further state change happens without an operation
// (void, capture, refund) being asked for.
func (s State) Final() bool {
	switch s {
	case StateCreated, StateWaitingForCard, StateReading, StateOnline:
		return false
	}
	return true
}

// Kind is what a payment record is.
type Kind string

const (
	KindPurchase Kind = "purchase"
	KindPreAuth  Kind = "preauth" // capture: manual
	KindRefund   Kind = "refund"
)

// OfflinePolicy decides at confirm time whether a payment may be approved
// without the acquirer.
type OfflinePolicy string

const (
	OfflineDefault OfflinePolicy = ""      // from config
	OfflineAllow   OfflinePolicy = "allow" // within the floor limit and offline limits
	OfflineDeny    OfflinePolicy = "deny"
)

// Capture says whether an approved payment is final (auto) or a
// pre-authorisation to be captured later (manual).
type Capture string

const (
	CaptureAuto   Capture = "auto"
	CaptureManual Capture = "manual"
)

// Reason codes given to the cashier for a payment that is not approved.
const (
	ReasonAcquirerUnavailable = "acquirer_unavailable"
	ReasonIssuerDeclined      = "issuer_declined"
	ReasonCardDeclined        = "card_declined"
	ReasonOfflineLimit        = "offline_limit"
	ReasonAborted             = "aborted"
	ReasonNoResponse          = "no_response"
	ReasonTryAnotherInterface = "try_another_interface"
	ReasonCardError           = "card_error"
	ReasonTimeout             = "timeout"
	ReasonShutdown            = "shutdown"
)

// Sentinel errors callers (the local API, nexo) branch on.
var (
	ErrNotFound   = errors.New("agent: payment not found")
	ErrBusy       = errors.New("agent: a payment is in flight on this reader") // see *BusyError
	ErrConflict   = errors.New("agent: id already used with a different request")
	ErrWrongState = errors.New("agent: operation not allowed in the payment's state")
	ErrInvalid    = errors.New("agent: invalid request") // see *InvalidError
	ErrClosed     = errors.New("agent: engine closed")
)

// BusyError names the payment in flight. It unwraps to ErrBusy.
type BusyError struct{ InFlight string }

func (e *BusyError) Error() string { return "agent: busy: payment " + e.InFlight + " in flight" }
func (e *BusyError) Unwrap() error { return ErrBusy }

// InvalidError names the request field that is wrong. It unwraps to ErrInvalid.
type InvalidError struct{ Field, Reason string }

func (e *InvalidError) Error() string { return "agent: invalid " + e.Field + ": " + e.Reason }
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// PaymentRequest is what a cashier asks for.
type PaymentRequest struct {
	ID        string        // the cashier's idempotency key
	Amount    int64         // minor units of Currency
	Currency  string        // ISO 4217 alphabetic ("EUR")
	Reference string        // cashier's reference, echoed on receipts
	Offline   OfflinePolicy // "" = config default
	Capture   Capture       // "" = auto
	Reader    string        // optional: name of the input to use; "" = every enabled one
}

// RefundRequest is a referenced refund of an approved payment (online).
type RefundRequest struct {
	ID        string // the cashier's idempotency key for the refund
	PaymentID string
	Amount    int64 // minor units, at most what is left to refund
}

// Payment is one payment (or refund) as stored and as every API shows it.
// It never holds a clear PAN, track 2, cryptogram or key.
type Payment struct {
	ID        string        `json:"id"`
	Kind      Kind          `json:"kind"`
	State     State         `json:"state"`
	Amount    int64         `json:"amount"`
	Currency  string        `json:"currency"` // alphabetic
	Reference string        `json:"reference,omitempty"`
	Offline   OfflinePolicy `json:"offline,omitempty"`
	Capture   Capture       `json:"capture,omitempty"`
	Captured  int64         `json:"captured_amount,omitempty"`
	Refunded  int64         `json:"refunded_amount,omitempty"`
	PaymentID string        `json:"payment_id,omitempty"` // a refund's original payment
	Reader    string        `json:"reader,omitempty"`
	Reason    string        `json:"reason,omitempty"` // Reason* code when not approved
	Message   string        `json:"message,omitempty"`
	// Card facts, masked.
	Scheme     string `json:"scheme,omitempty"`
	MaskedPAN  string `json:"masked_pan,omitempty"` // first 6 + last 4
	AID        string `json:"aid,omitempty"`
	Label      string `json:"label,omitempty"`
	EntryMode  string `json:"entry_mode,omitempty"` // contactless, qr_consumer, qr_merchant, ...
	CVM        string `json:"cvm,omitempty"`
	AuthCode   string `json:"auth_code,omitempty"`
	Response   string `json:"response_code,omitempty"`
	STAN       string `json:"stan,omitempty"`
	RRN        string `json:"rrn,omitempty"`
	TerminalID string `json:"terminal_id"`
	MerchantID string `json:"merchant_id"`
	// Reversed tells the cashier a request had left and was reversed.
	Reversed bool `json:"reversed,omitempty"`
	// DeclinedLater: the issuer declined this offline approval when the
	// forwarder sent its advice (the merchant's loss).
	DeclinedLater bool      `json:"declined_later,omitempty"`
	Created       time.Time `json:"created"`
	Updated       time.Time `json:"updated"`
	Receipt       *Receipt  `json:"receipt,omitempty"` // on every final payment
	History       []Step    `json:"history,omitempty"` // state timeline
	RequestMD     []byte    `json:"-"`                 // digest of the request for idempotency
}

// Step is one state change in a payment's timeline.
type Step struct {
	State State     `json:"state"`
	At    time.Time `json:"at"`
	Note  string    `json:"note,omitempty"`
}

// Receipt is the data printed for a final payment, as fields and as lines.
type Receipt struct {
	Merchant []string          `json:"merchant"` // merchant copy, ready-to-print lines
	Customer []string          `json:"customer"` // customer copy
	Fields   map[string]string `json:"fields"`
}

// Event is what the event stream carries: prompts for the customer display,
// state changes and queue news. ID increases across restarts.
type Event struct {
	ID       uint64    `json:"id"`
	Type     string    `json:"type"` // "prompt", "state", "declined_offline", "queue"
	Payment  string    `json:"payment,omitempty"`
	State    State     `json:"state,omitempty"`
	Prompt   string    `json:"prompt,omitempty"` // present_card, remove_card, processing, approved, declined, try_another_interface, present_card_again, see_phone
	Amount   int64     `json:"amount,omitempty"`
	Currency string    `json:"currency,omitempty"`
	Message  string    `json:"message,omitempty"`
	At       time.Time `json:"at"`
}

// Reader is an input that produces cards: a PC/SC reader, a serial dongle,
// the built-in simulated reader. Backends live in their own packages (or
// cmd/); the engine knows only this.
type Reader interface {
	// Name identifies the reader in status, payments and config.
	Name() string
	// WaitCard blocks until a card is presented or ctx ends. amount is the
	// payment's amount (the simulated reader may choose its card by it).
	WaitCard(ctx context.Context, amount int64) (CardSession, error)
}

// CardSession is a presented card.
type CardSession interface {
	emv.Card
	// Close ends the session (power off); the card may stay in the field.
	Close() error
}

// The Engine (engine.go) offers, and the local API, nexo and the web pages
// use exactly these methods (each consumer declares the subset it needs as
// its own interface):
//
//	Pay(ctx, PaymentRequest) (Payment, error)      // creates (idempotent by ID) and runs to a final state; ctx end = stop waiting, not abort
//	Start(ctx, PaymentRequest) (Payment, error)    // creates and runs in the background; returns the created payment
//	Wait(ctx, id string) (Payment, error)          // until final or ctx ends (returns the current state then)
//	Get(id string) (Payment, error)
//	List(since time.Time, limit int) ([]Payment, error)
//	Abort(ctx, id string) (Payment, error)         // before the request left: aborted; after: reversed (Payment.Reversed)
//	Void(ctx, id string) (Payment, error)          // approved -> voided (reversal, exactly once)
//	Capture(ctx, id string, amount int64) (Payment, error)
//	Refund(ctx, RefundRequest) (Payment, error)
//	Totals(since time.Time) (Totals, error)
//	Status() Status                                // readers, uplink, queue
//	QueueEntries() ([]QueueEntry, error)
//	ForwardNow(ctx) (int, error)
//	Subscribe(lastID uint64) (events <-chan Event, cancel func()) // replays what is kept after lastID, then live
//	Close(ctx) error                               // SIGTERM: finish or safely abort the payment in flight, flush

// Event types (Event.Type).
const (
	EventState           = "state"            // a payment's state changed (durable before it is sent)
	EventPrompt          = "prompt"           // something to show the cashier or customer
	EventDeclinedOffline = "declined_offline" // the issuer declined an offline approval the forwarder sent
	EventQueue           = "queue"            // queue news (an entry parked as failed)
)

// Prompts (Event.Prompt).
const (
	PromptPresentCard         = "present_card"
	PromptRemoveCard          = "remove_card"
	PromptProcessing          = "processing"
	PromptApproved            = "approved"
	PromptDeclined            = "declined"
	PromptTryAnotherInterface = "try_another_interface"
	PromptPresentCardAgain    = "present_card_again"
	PromptScanCode            = "scan_code" // a scanner waits for the customer's QR code
)

// More reason codes.
const (
	ReasonQRUnsupported = "qr_unsupported" // the scanned code is of no known payment format
	ReasonStore         = "store_error"    // the data file refused a write
)

// Scanner is an input that reads consumer-presented codes (a QR scanner,
// a camera). Backends live in their own packages.
type Scanner interface {
	// Name identifies the scanner in status, payments and config.
	Name() string
	// Scan blocks until a code is read or ctx ends.
	Scan(ctx context.Context) (code string, err error)
}

// QRClassifier tells which payment scheme a scanned code belongs to
// ("wechat", "alipay", "unionpay", "emvco"...). It returns an error for a
// code of no known format: the engine then refuses the payment.
type QRClassifier func(code string) (scheme string, err error)

// SignalSession is an optional capability of a CardSession: the reader
// shows the kernel's verdict (LED, beep) before the card is released.
type SignalSession interface {
	Signal(ctx context.Context, ok bool)
}

// Observer receives measurements; the daemon implements it with
// Prometheus. Its methods are called synchronously and must be quick.
type Observer interface {
	// Tap: a card (or code) was read on input in d, with the kernel's
	// masked report (Outcome "qr" for a scanned code).
	Tap(input string, d time.Duration, rep emv.Report)
	// Online: an online request took d; result is "approved", "declined",
	// "unavailable", "reversed" or "failed".
	Online(d time.Duration, result string)
	// Final: a payment reached a final state (durably).
	Final(p Payment)
	// Uplink: the acquirer connection went up or down.
	Uplink(up bool)
}

// Totals are the end-of-day counts and amounts since a cut-off.
type Totals struct {
	Since time.Time  `json:"since"`
	Until time.Time  `json:"until"`
	Rows  []TotalRow `json:"rows"`
	// Net per currency: approved + approved_offline + captured amounts of
	// purchases minus refunded ones (voided and reversed count nothing).
	Net map[string]int64 `json:"net"`
}

// TotalRow is one group of payments of the same state, kind, scheme and
// currency.
type TotalRow struct {
	State    State  `json:"state"`
	Kind     Kind   `json:"kind"`
	Scheme   string `json:"scheme"`
	Currency string `json:"currency"`
	Count    int    `json:"count"`
	Amount   int64  `json:"amount"` // sum of Payment.Amount (captured amount for captured ones)
}

// Status is what the engine reports about its inputs, uplink and queue.
type Status struct {
	Readers []InputStatus `json:"readers"`
	Uplink  UplinkStatus  `json:"uplink"`
	Queue   QueueStatus   `json:"queue"`
}

// InputStatus is one reader or scanner.
type InputStatus struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`           // "reader" or "scanner"
	Payment string `json:"busy,omitempty"` // the payment in flight on it
}

// UplinkStatus is the acquirer connection.
type UplinkStatus struct {
	Configured bool   `json:"configured"`
	Up         bool   `json:"up"`
	Addr       string `json:"addr,omitempty"`
}

// QueueStatus summarises the store-and-forward queue.
type QueueStatus struct {
	ByState       map[string]int   `json:"by_state"`
	Outstanding   map[string]int64 `json:"outstanding"` // offline approvals not yet forwarded, per currency (alphabetic)
	OldestPending time.Time        `json:"oldest_pending,omitzero"`
}

// QueueEntry is one queued message, without its (encrypted) payload.
type QueueEntry struct {
	ID          string    `json:"id"`
	Payment     string    `json:"payment"`
	Kind        string    `json:"kind"` // advice, reversal, completion
	State       string    `json:"state"`
	Amount      int64     `json:"amount"`
	Currency    string    `json:"currency"`
	Attempts    int       `json:"attempts"`
	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	Reason      string    `json:"reason,omitempty"`
	Declined    bool      `json:"declined,omitempty"`
}
