// Package pcsc drives contactless card readers through PC/SC (pcsc-lite's
// pcscd on Linux) with github.com/ebfe/scard. It is the only cgo in reader/:
// every package above it builds with CGO_ENABLED=0.
//
// A Context is the long-lived handle: it lists readers and re-establishes
// its PC/SC context when pcscd restarts. Watch streams reader and card
// events (hotplug through the PnP notification reader); WaitCard and
// WaitRemoval are built on it and are cancelled with their context.Context
// through SCardCancel. Connect returns a *Card that satisfies reader.Card;
// callers apply the ISO 7816-4 transport rules with reader.Exchange.
//
// Each Card and each wait use their own PC/SC context: pcsc-lite serialises
// the calls on one context, so a shared one would make a Transmit wait for a
// blocked GetStatusChange and one reader wait for another. The Context keeps
// a few established contexts for reuse, so that a tap does not pay for
// establishing one; a context that saw pcscd go away or an SCardCancel is
// never reused.
//
// Failures are typed: ErrNoService (pcscd not running), ErrCardRemoved (the
// card left the field: no outcome may be derived), ErrReaderGone (reader
// unplugged), wrapped in *OpError that names the operation and the reader.
package pcsc
