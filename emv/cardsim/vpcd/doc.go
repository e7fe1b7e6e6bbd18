// Package vpcd is the card side of the vsmartcard "vpcd" protocol: it attaches
// a software card to the virtual reader that the vpcd driver adds to a real
// pcscd, so that every PC/SC client (posagent, pcsc_scan, pyscard) talks to
// the software card through the same stack as to a USB reader.
//
// The card dials the driver (TCP 35963 for "Virtual PCD 00 00", 35964 for
// "Virtual PCD 00 01"). Every message is a 2-byte big-endian length followed
// by the payload. A 1-byte payload is a control message (power off, power on,
// reset, get ATR); anything longer is a command APDU, answered with the
// response APDU. Dialing is a tap; closing the socket removes the card.
//
// The driver writes the length and the APDU in two segments, which with
// delayed ACK costs ~44 ms per APDU; the card side re-arms TCP_QUICKACK before
// every read so that an APDU costs ~0.1 ms.
//
// vpcd is a test-only driver: it listens on all interfaces without any
// authentication and must never be installed on a production device.
package vpcd
