// Package serial is the host side of the mPOS dongle protocol
// (docs/dongle-protocol.md): a pocket card reader on a serial device path,
// /dev/rfcomm0 (Bluetooth RFCOMM), /dev/ttyACM0 or /dev/ttyUSB0 (USB).
//
// Open gives a *Dongle for one device path and a dongle profile
// (firmware-profiles/dongles). Its commands (Info, WaitCard/Poll, UI) run
// over a T=1 style block link that resynchronises after garbage, asks for a
// retransmission on a bad EDC or a lost block, honours WTX and chains long
// messages; every command has a timeout, so a dongle that never answers
// cannot hold the caller past it. A *Card is the card the dongle found: it
// satisfies emv.Card (raw APDUs; the kernel applies the 61xx/6Cxx rules with
// reader.Exchange) and Close releases it.
//
// When the link drops (Bluetooth out of range, the device path removed) the
// command in flight fails with ErrLinkDown and the card session is over; the
// next command reopens the path with exponential backoff. Every failure is a
// typed error: sentinels for what callers branch on (ErrLinkDown, ErrTimeout,
// ErrNoResponse, ErrNoCard, ErrCardLost, ErrBatteryLow, ErrCancelled), a
// *LinkError with the path and command, a *StatusError for a device status.
//
// The port is go.bug.st/serial (port_serial.go, the only file that touches
// the OS); pseudo-terminals work too, which is how the tests run it against
// reader/serial/device (cmd/donglesim).
package serial
