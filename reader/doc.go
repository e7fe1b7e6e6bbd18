// Package reader holds what every card reader backend shares: the Card
// interface a backend satisfies, command APDUs, the status-word type, and the
// ISO 7816-4 transport rules (GET RESPONSE on 61xx, re-issue with Le on 6Cxx).
//
// Backends live in sub-packages (reader/pcsc, reader/serial, reader/trace) and
// return concrete types; optional capabilities such as LED and buzzer control
// are separate one-method interfaces found by type assertion.
package reader
