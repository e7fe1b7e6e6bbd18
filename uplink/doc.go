// Package uplink is the acquirer client: ISO 8583 messages over a persistent
// mutually authenticated TLS connection, with durable auto-reversal.
//
// # Messages
//
// The message layout is an [iso8583.MessageSpec] (github.com/moov-io/iso8583).
// [DefaultSpec] is documented field by field in docs/iso8583.md; an
// acquirer's variant is loaded from a JSON spec file with [LoadSpec] and
// needs no code. [Transaction] is the data the uplink carries, decoupled from
// the EMV kernel; its PAN and track 2 print masked everywhere.
//
// # Connection
//
// A [Client] keeps one TCP+TLS (1.2 or 1.3) connection with a client
// certificate and optional server public-key pinning, framed by a network
// length header ([HeaderBinary2] by default). It reconnects with exponential
// backoff, signs on (0800, 70=001) on every connect and sends an echo (0800,
// 70=301) when idle. Responses are matched by MTI + STAN + terminal id, so a
// reversal that shares its original's STAN is never confused with it.
// STANs come from a [STAN] counter persisted in a file, monotonic across
// restarts.
//
// # Reversals
//
// Before a 0100 or 0200 leaves, a reversal for it is made durable as a held
// entry of the offline store ([Queue]). A response cancels it; a timeout, a
// lost connection, a broken response or a cashier abort releases it, and the
// offline forwarder sends it through [Client.Forward] (0400, repeated as 0401)
// until it is acknowledged. A response arriving after that is logged and
// ignored. A failure after approval is reversed with [Client.Reverse] (0420,
// repeated as 0421); offline approvals are reported with [Client.Advice]
// (0220, repeated as 0221).
//
// Bytes from the acquirer are hostile: decoding never panics and reports a
// *[DecodeError] (bad bytes) or a *[ResponseError] (good bytes, wrong
// meaning). Errors and logs never carry a full PAN, track 2, cryptograms or
// keys.
package uplink
