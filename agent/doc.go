// Package agent is the daemon's core: the one transaction engine that
// `posagent serve`, `posagent demo` and `posagent tap` all use.
//
// An Engine owns the payment ledger and the store-and-forward queue (one
// bbolt file, one lock: offline.Store), the uplink to the acquirer, and the
// inputs (card readers, dongles, QR scanners) behind the small Reader
// interface declared here. Every decision that moves money is made here and
// nowhere else: online when the acquirer answers; when it cannot be reached,
// an offline approval only where the card approved offline or the terminal's
// floor limit and the offline limits allow it, else a decline with the reason
// acquirer_unavailable.
//
// Each state change of a payment is fsync'd before anyone can see it, and a
// state change and the queue entry it implies (the reversal armed before a
// request leaves, the advice of an offline approval) are one bbolt
// transaction: no crash point leaves one without the other.
//
// The engine never holds issuer keys: checking the issuer's ARPC is the
// card's job.
package agent
