// Package device is the device side of the mPOS dongle protocol
// (docs/dongle-protocol.md): what a dongle's firmware does, in software. It
// hosts a card (any emv.Card, typically an emv/cardsim software card),
// answers INFO, POLL, APDU, RELEASE and UI over T=1 style blocks, sends WTX
// while it waits for a card, answers retransmission requests from its cache
// (an APDU is never executed twice) and honours ABORT and RESYNCH.
//
// Faults injects what a radio link and a tired battery do: flipped bits,
// dropped bytes, lost blocks, delays, a link that drops and comes back, a
// battery running low. ServePTY runs a device on the device side of a
// pseudo-terminal (github.com/creack/pty) behind a stable path (a symlink
// replaced on every reconnect, as /dev/rfcomm0 comes and goes); cmd/donglesim
// wires it to the command line, and reader/serial tests use it directly.
package device
