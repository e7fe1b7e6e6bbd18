// Package frame is the pure codec of the mPOS dongle protocol
// (docs/dongle-protocol.md): ISO 7816-3 T=1 style blocks (NAD, PCB, LEN,
// INF, LRC or CRC) and the messages carried in their information fields
// (INFO, POLL, APDU, RELEASE, UI and their responses).
//
// Every function works on byte slices and does no I/O: the host link
// (reader/serial) and the device side (reader/serial/device) both build on
// it. Decoders check bounds before slicing and return typed errors: a
// *BlockError (bad NAD, PCB, length or EDC) or a *MessageError; ErrIncomplete
// says a buffer holds the valid start of a block and more bytes are needed.
package frame
