// Package offline is the terminal's durable store-and-forward queue: offline
// approvals waiting to be sent to the acquirer as advices, and reversals
// armed before an online request leaves.
//
// The store is one bbolt file. Every Enqueue is fsync'd before it returns
// (concurrent enqueues share a commit); payloads are encrypted at rest with
// AES-256-GCM under a key kept in a 0600 key file beside the data, and each
// entry records the id of the key that sealed it so that Rekey can rotate
// keys without losing entries.
//
// Offline approvals (KindAdvice) are admitted only within the merchant's
// per-currency Limits: per-transaction amount, outstanding total and count,
// age of the oldest pending advice, and per-card velocity keyed by an HMAC of
// the PAN (Store.CardKey); no PAN is ever stored in clear.
//
// A Forwarder drains the queue through a Sender (the uplink client):
// reversals first, then advices in order, with exponential backoff and
// jitter. An entry that was in flight when the process died is resent as a
// repeat; an acquirer "duplicate" answer counts as success, a permanent
// rejection parks the entry as failed with its reason, and an issuer decline
// of an offline approval is recorded and raised as an Event.
package offline
