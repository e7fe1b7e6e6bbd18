package offline

import (
	"log/slog"
	"time"
)

// Options configures a Store. The zero value is usable: key file and device
// secret beside the queue file, a 1 s lock timeout, no logging, and no
// offline limits (so no offline approval is admitted until limits are set).
type Options struct {
	// KeyFile holds the payload keys (created 0600 on first start).
	// Default: "queue.key" in the queue file's directory.
	KeyFile string
	// SecretFile holds the device secret for card velocity keys (created
	// 0600 on first start). Default: "queue.secret" beside the queue file.
	SecretFile string
	// OpenTimeout is how long Open waits for the file lock before it
	// reports ErrLocked. Default 1 s; negative means do not wait at all.
	OpenTimeout time.Duration
	// Logger receives operational messages (never payloads, PANs or keys).
	// Nil discards.
	Logger *slog.Logger
	// Limits are the merchant's offline limits per ISO 4217 numeric
	// currency code; the key "*" applies to currencies not listed. An
	// advice in a currency without limits is refused (LimitCurrency).
	Limits map[string]Limit
	// ReadOnly opens the file with a shared lock for inspection; no
	// recovery is done and writes fail.
	ReadOnly bool
	// SkipCheck skips the full consistency check at Open (faster start on
	// a large file; corruption is then found later).
	SkipCheck bool
	// NoSync disables fsync. For benchmarks of the code path only: it
	// breaks the durability promise.
	NoSync bool
	// Now is the clock; default time.Now.
	Now func() time.Time
	// OnCommit, when set, is called after every write transaction that
	// committed, with its operation name and whether it was fsync'd
	// (false for Store.CommitLazy and with NoSync). It runs while the
	// store's write lock is held: it must not call the Store. Tests count
	// fsyncs with it and inject crashes at commit points.
	OnCommit func(op string, fsynced bool)
	// BeforeCommit, when set, runs inside every write transaction just
	// before it commits; an error aborts the transaction. For fault
	// injection (a crash test kills the process here).
	BeforeCommit func(op string) error

	// testHookCommit, when set, runs inside each write transaction just
	// before commit; an error aborts the transaction (injected write error).
	testHookCommit func(op string) error
}

// Limit is one currency's offline limits. A zero field means no cap on
// that dimension.
type Limit struct {
	PerTransaction int64         // largest single offline approval (minor units)
	TotalAmount    int64         // outstanding (not yet forwarded) amount
	Count          int           // outstanding number of offline approvals
	MaxAge         time.Duration // oldest pending advice; older stops offline taking
	CardCount      int           // outstanding approvals per card
	CardAmount     int64         // outstanding amount per card
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) limitFor(currency string) (Limit, bool) {
	if l, ok := o.Limits[currency]; ok {
		return l, true
	}
	l, ok := o.Limits["*"]
	return l, ok
}

var discard = slog.New(slog.DiscardHandler)
