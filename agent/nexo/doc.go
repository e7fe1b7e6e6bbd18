// Package nexo is posagent's nexo Sale-to-POI endpoint: the JSON dialect of
// Adyen's Terminal API that point-of-sale software posts to a terminal's
// https://<terminal>:8443/nexo, mapped onto the agent's engine.
//
// The package has three layers, each usable on its own:
//
//   - the envelope (envelope.go): the NexoBlob + SecurityTrailer message
//     protection exactly as Adyen's libraries implement it (PBKDF2-SHA1 key
//     derivation from a shared passphrase, AES-256-CBC with the derived IV
//     xor a per-message nonce, HMAC-SHA256 over the clear message);
//   - the messages (message.go, decode.go): SaleToPOIRequest and
//     SaleToPOIResponse with the bodies posagent supports, a bounded decoder
//     with typed errors;
//   - the handler (handler.go): an http.Handler that answers Payment,
//     TransactionStatus, Abort, Reversal, Diagnosis, Login and Logout on an
//     Engine (the subset of agent's engine it uses, declared here), and the
//     TLS listener that serves it (listen.go).
//
// docs/nexo.md lists every supported message and field, what is ignored and
// where posagent deliberately departs from nexo.
package nexo
