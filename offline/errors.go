package offline

import (
	"errors"
	"fmt"
	"syscall"
)

// Sentinel errors callers branch on.
var (
	// ErrNotFound: no entry with that id.
	ErrNotFound = errors.New("offline: entry not found")
	// ErrDuplicate: an entry with that id (the idempotency key) already exists.
	ErrDuplicate = errors.New("offline: duplicate entry id")
	// ErrInvalidEntry: the entry given to Enqueue is not acceptable.
	ErrInvalidEntry = errors.New("offline: invalid entry")
	// ErrWrongState: the operation does not apply to the entry's state.
	ErrWrongState = errors.New("offline: entry in wrong state")
	// ErrLimitExceeded: an offline limit refuses the approval (see *LimitError).
	ErrLimitExceeded = errors.New("offline: limit exceeded")
	// ErrLocked: another process holds the queue file.
	ErrLocked = errors.New("offline: queue in use by another process")
	// ErrCorrupt: the queue file or one of its records is damaged.
	ErrCorrupt = errors.New("offline: queue file corrupt")
	// ErrStorage: a write to the queue failed (disk full, I/O error); nothing
	// of the failed operation was stored.
	ErrStorage = errors.New("offline: queue write failed")
	// ErrKey: the key file or device secret is missing, unreadable or
	// does not open an entry.
	ErrKey = errors.New("offline: encryption key problem")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("offline: store closed")

	// ErrRejected is returned by a Sender for a permanent rejection by the
	// acquirer (format error, invalid transaction): the entry is parked as
	// failed with the error text as its reason.
	ErrRejected = errors.New("offline: rejected by acquirer")
	// ErrDeclined is returned by a Sender when the issuer declines an
	// offline approval: the entry is done (it must not be resent) and a
	// declined-offline-approval Event is raised: the merchant's loss.
	ErrDeclined = errors.New("offline: offline approval declined by issuer")
)

// LimitName names an offline limit.
type LimitName string

// The offline limits; see Limit.
const (
	LimitCurrency       LimitName = "currency not enabled for offline"
	LimitPerTransaction LimitName = "per-transaction amount"
	LimitTotalAmount    LimitName = "total outstanding amount"
	LimitCount          LimitName = "outstanding count"
	LimitAge            LimitName = "age of oldest pending entry"
	LimitCardCount      LimitName = "per-card count"
	LimitCardAmount     LimitName = "per-card amount"
)

// LimitError says which offline limit refused an approval. It unwraps to
// ErrLimitExceeded. It never carries card data.
type LimitError struct {
	Limit    LimitName
	Currency string
	Max      int64 // the configured limit (minor units, count, or seconds for LimitAge)
	Value    int64 // the value the approval would have reached
}

func (e *LimitError) Error() string {
	if e.Limit == LimitCurrency {
		return fmt.Sprintf("offline approval refused: no offline limits configured for currency %q", e.Currency)
	}
	return fmt.Sprintf("offline approval refused: %s limit for currency %s: %d would exceed %d", e.Limit, e.Currency, e.Value, e.Max)
}

// Unwrap returns ErrLimitExceeded.
func (e *LimitError) Unwrap() error { return ErrLimitExceeded }

// StateError says an operation found an entry in a state it does not apply to.
type StateError struct {
	Op    string
	ID    string
	State State
}

func (e *StateError) Error() string {
	return fmt.Sprintf("offline: %s %s: entry is %s", e.Op, e.ID, e.State)
}

// Unwrap returns ErrWrongState.
func (e *StateError) Unwrap() error { return ErrWrongState }

// StorageError is a failed write to the queue file. Nothing of the failed
// operation was stored. It matches ErrStorage and the underlying cause (for
// example syscall.ENOSPC).
type StorageError struct {
	Op   string
	Path string
	Err  error
}

func (e *StorageError) Error() string {
	what := "write failed"
	if errors.Is(e.Err, syscall.ENOSPC) || errors.Is(e.Err, syscall.EDQUOT) {
		what = "disk full"
	}
	return fmt.Sprintf("offline: %s: queue %s: %s, nothing was stored: %v", e.Op, e.Path, what, e.Err)
}

// Unwrap returns ErrStorage and the cause.
func (e *StorageError) Unwrap() []error { return []error{ErrStorage, e.Err} }

// CorruptError describes a damaged queue file or record. The file is left
// untouched.
type CorruptError struct {
	Path   string
	Detail string // what is wrong
	Err    error  // cause, may be nil
}

func (e *CorruptError) Error() string {
	msg := fmt.Sprintf("offline: queue file %s is corrupt: %s", e.Path, e.Detail)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg + "; the file was left untouched: stop the agent, move the file aside (keep it: it may hold payments not yet sent), then restart to begin a new queue and report it to support"
}

// Unwrap returns ErrCorrupt and the cause.
func (e *CorruptError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrCorrupt}
	}
	return []error{ErrCorrupt, e.Err}
}

// LockedError reports that another process holds the queue file.
type LockedError struct {
	Path string
	Err  error
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("offline: queue %s is in use by another process (file lock not obtained: %v); stop the other posagent or use another --data directory", e.Path, e.Err)
}

// Unwrap returns ErrLocked and the cause.
func (e *LockedError) Unwrap() []error { return []error{ErrLocked, e.Err} }

// KeyError describes a key file or device secret problem. It never carries
// key material.
type KeyError struct {
	Path   string
	Detail string
	Err    error
}

func (e *KeyError) Error() string {
	msg := fmt.Sprintf("offline: key file %s: %s", e.Path, e.Detail)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrKey and the cause.
func (e *KeyError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrKey}
	}
	return []error{ErrKey, e.Err}
}

// RecordError is a record of the queue file that does not decode. It
// matches ErrCorrupt.
type RecordError struct {
	Record string // "entry", "payload", "counter", "key file"
	Offset int    // byte offset where decoding failed
	Detail string
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("offline: bad %s record at byte %d: %s", e.Record, e.Offset, e.Detail)
}

// Unwrap returns ErrCorrupt.
func (e *RecordError) Unwrap() error { return ErrCorrupt }
