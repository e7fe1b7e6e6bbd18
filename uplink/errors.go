package uplink

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on.
var (
	// ErrUnavailable: the request did not leave the terminal (no connection,
	// sign-on failed). Nothing is armed; the payment may go offline.
	ErrUnavailable = errors.New("uplink: acquirer unavailable, request not sent")
	// ErrNoResponse: the request left (or may have left) and no response
	// came in time or the connection was lost. Its reversal was released.
	ErrNoResponse = errors.New("uplink: no response from acquirer")
	// ErrAborted: the caller cancelled while waiting (cashier abort). Its
	// reversal was released.
	ErrAborted = errors.New("uplink: aborted while waiting for the acquirer")
	// ErrMalformed: bytes from the acquirer do not decode (see *DecodeError).
	ErrMalformed = errors.New("uplink: malformed message")
	// ErrBadResponse: a response decodes but is wrong (missing or
	// inconsistent fields; see *ResponseError).
	ErrBadResponse = errors.New("uplink: bad response")
	// ErrFrame: the network length header is wrong or too large.
	ErrFrame = errors.New("uplink: bad frame")
	// ErrDuplicate: a transaction with this id is already queued (the id is
	// the idempotency key), so it is not sent again.
	ErrDuplicate = errors.New("uplink: duplicate transaction id")
	// ErrStore: the durable queue refused a write; nothing was sent.
	ErrStore = errors.New("uplink: reversal store failed")
	// ErrInvalid: the transaction given to the client is not sendable.
	ErrInvalid = errors.New("uplink: invalid transaction")
	// ErrPinMismatch: the acquirer's public key does not match a pin.
	ErrPinMismatch = errors.New("uplink: server public key does not match pin")
	// ErrClosed: the client is closed.
	ErrClosed = errors.New("uplink: client closed")
)

// sensitiveField reports whether a field's content must never appear in an
// error or a log.
func sensitiveField(id int) bool {
	switch id {
	case FieldPAN, FieldTrack2, FieldICC, FieldQR, 45, 52:
		return true
	}
	return false
}

// DecodeError means bytes from the acquirer do not decode under the spec
// (bad bitmap, wrong lengths, bad characters). It never carries field
// values of sensitive fields.
type DecodeError struct {
	Field  int    // field number, 0 = MTI, 1 = bitmap, -1 = the whole message
	Detail string // what was wrong
	Err    error  // cause (nil for sensitive fields, whose cause may echo data)
}

func (e *DecodeError) Error() string {
	where := "message"
	switch {
	case e.Field == 0:
		where = "MTI"
	case e.Field == 1:
		where = "bitmap"
	case e.Field > 1:
		where = fmt.Sprintf("field %d", e.Field)
	}
	msg := "uplink: malformed message: " + where + ": " + e.Detail
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrMalformed and the cause.
func (e *DecodeError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrMalformed, e.Err}
	}
	return []error{ErrMalformed}
}

// ResponseError means a response decodes but cannot be used: a missing
// mandatory field, an echo that does not match the request. The
// transaction ends as "acquirer error" and, where money may have moved, is
// reversed.
type ResponseError struct {
	MTI    string // response MTI
	STAN   string
	Field  int // field at fault, -1 when none in particular
	Detail string
}

func (e *ResponseError) Error() string {
	if e.Field >= 0 {
		return fmt.Sprintf("uplink: bad response %s stan %s: field %d: %s", e.MTI, e.STAN, e.Field, e.Detail)
	}
	return fmt.Sprintf("uplink: bad response %s stan %s: %s", e.MTI, e.STAN, e.Detail)
}

// Unwrap returns ErrBadResponse.
func (e *ResponseError) Unwrap() error { return ErrBadResponse }

// FrameError means the network length header is unusable.
type FrameError struct {
	Length int // declared length
	Max    int // the largest accepted
	Detail string
	Err    error
}

func (e *FrameError) Error() string {
	msg := "uplink: bad frame: " + e.Detail
	if e.Length != 0 || e.Max != 0 {
		msg += fmt.Sprintf(" (length %d, max %d)", e.Length, e.Max)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrFrame and the cause.
func (e *FrameError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrFrame, e.Err}
	}
	return []error{ErrFrame}
}

// TxnError is how a request failed: which transaction, at which step, and
// whether its reversal was released (money may have moved).
type TxnError struct {
	ID       string // transaction id
	MTI      string // request MTI
	STAN     string
	Reversed bool // the reversal was released and will be sent
	Err      error
}

func (e *TxnError) Error() string {
	msg := fmt.Sprintf("uplink: %s txn %s stan %s: %v", e.MTI, e.ID, e.STAN, e.Err)
	if e.Reversed {
		msg += " (reversal queued)"
	}
	return msg
}

// Unwrap returns the cause.
func (e *TxnError) Unwrap() error { return e.Err }
