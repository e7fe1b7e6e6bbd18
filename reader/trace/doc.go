// Package trace reads and writes .trace files (recorded card sessions),
// records a session by wrapping any reader.Card, and replays a recording as
// a Card that answers the kernel's commands from it.
//
// A .trace file is UTF-8 text, one card session per file:
//
//	# comment
//	@ scheme: visa                  (metadata, only before the first exchange)
//	> 00 A4 04 00 07 A0 00 00 00 03 10 10 00      (command APDU)
//	< 6F 1E 84 07 A0 00 00 00 03 10 10 ... 90 00  (response with SW1 SW2)
//	> *                                           (command not recorded)
//	< 67 00
//
// Parse is strict and reports a *SyntaxError with the line number; WriteTo
// writes the canonical form, so Parse(WriteTo(t)) gives t back.
//
// A Recorder masks the PAN, track data, cardholder name and application
// cryptogram in what it hands out unless RecordOptions.Unmasked is set;
// masked values keep their length and TLV structure (see Mask).
//
// A Replayer matches each command it is sent against the recording from a
// cursor (exact bytes, a wildcard "> *", or a compatible variant: partial
// SELECT name, GET RESPONSE recorded with INS 0C, different Le), answers with
// the recorded response, and reports every departure from the recording as a
// Divergence instead of failing. It implements the kernel's optional
// RecordedSession interface (RecordedCommand) so that the kernel can reuse
// the terminal data of the recorded commands. The matching rules are
// documented in docs/trace-format.md.
//
// The package does not log.
package trace
