// Package leakcheck holds one test: every exported type that carries card
// data (PAN, track 2, cryptograms, keys, decrypted queue payloads) is
// walked through every fmt verb, encoding/json, encoding.TextMarshaler,
// slog's JSON handler and error wrapping, and must never show the clear
// values. It has no code of its own.
package leakcheck
