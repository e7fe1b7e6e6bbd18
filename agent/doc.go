// Package agent is the daemon's transaction engine: the one place that
// decides what happens to a payment. `posagent serve`, `posagent demo` and
// `posagent tap` all run payments through an Engine; cmd/ only wires
// inputs, config and the local API to it.
//
// A payment goes created -> waiting_for_card -> reading -> (online) -> a
// final state. Every state is written to the one bbolt file of the
// offline store (package offline) before anyone can see it, and a state
// and the queue entry it implies are one transaction:
//
//   - online: the payment's "online" state and its armed reversal (held)
//     are one commit, made before the request leaves; the final state and
//     the reversal's cancellation are the next one. An online payment
//     costs two fsyncs. A crash between the answer and the final commit
//     leaves the reversal armed: it is released at restart and the
//     payment is reversed, so no charge stays that the cashier was not
//     told about.
//   - approved_offline: the state and the advice are one commit (one
//     fsync), within the offline limits of the store.
//   - voided: the state and the reversal are one commit; the forwarder
//     sends the reversal exactly once, also after a restart.
//   - captured: the state and the completion advice are one commit.
//
// States that move no money (created, waiting_for_card, reading) are
// written without fsync unless Config.SyncAllStates is set: they survive a
// process crash, not a power cut. On Open, payments a previous process
// left in them are aborted (failed when the card was being read); those
// left online are reversed.
//
// The decision: online when the acquirer answers; when it cannot be
// reached (uplink.ErrUnavailable), an offline approval only where the
// card approved offline (TC) or the amount is within Config.FloorLimit,
// and always within the store's offline limits (per-card velocity by
// offline.Store.CardKey); else declined with ReasonAcquirerUnavailable. A
// request's OfflinePolicy (default Config.Offline) "deny" makes the card
// go online and refuses any offline approval.
//
// Inputs are Readers (cards) and Scanners (consumer-presented codes);
// backends live in agent/input/... and other packages. One card payment
// runs at a time per input; a second gets a *BusyError. Events (state
// changes, prompts for the cashier, issuer declines of offline approvals)
// have ids that increase across restarts and can be replayed from a ring
// buffer with Subscribe.
//
// Currencies are ISO 4217 alphabetic codes; codes, minor units and amount
// text come from package money.
package agent
