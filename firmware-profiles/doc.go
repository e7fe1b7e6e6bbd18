// Package firmwareprofiles holds one data file per card-reader model (the
// *.json files of this folder, embedded in the binary) and their loader.
//
// A profile is matched by reader name (case-insensitive regular expressions,
// with exclusions such as a reader's SAM slot) and says whether the reader
// is contactless, how to reach its LED and buzzer (an SCardControl escape
// command or a pseudo-APDU, with the exact bytes for idle, present card,
// success and failure), the UID command, extended APDU support, the longest
// command APDU, known quirks and where the facts come from. Exactly one
// profile is the fallback for unknown readers; profiles for test-only
// drivers (vpcd) are marked so.
//
// Serial mPOS dongles (reader/serial) have their own profiles in the
// dongles/ folder (Dongle, LoadDongles): baud rate, EDC (LRC or CRC), the
// largest block, block and character waiting times, per-command timeouts,
// retries, reconnect backoff and the low-battery threshold. They are loaded
// the same way, from dongles/ of the embedded set and of the override
// directory; one of them is the fallback.
//
// Load reads the embedded set and lets files of a directory override
// (same file name) or add profiles. A malformed profile is refused with a
// *ProfileError naming the file, the field and the reason.
package firmwareprofiles
