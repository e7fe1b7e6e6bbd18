// Package perso is the issuer and personalisation side of the posagent
// software cards (emv/cardsim): a certification authority signing issuer
// public key certificates, an issuer signing ICC public key certificates and
// static data (SDA), and the card signing dynamic data (DDA, fDDA, CDA), all
// in the EMV Book 2 recovery formats with the raw RSA private operation
// (not PKCS#1). emv/oda verifies what it produces.
//
// The keys under testkeys/ (TEST-ONLY-<scheme>-<ca|issuer|icc>.pem) are
// TEST KEYS, committed so that software cards are deterministic and start
// fast. They are public and worthless: never personalise a real card with
// them or accept them for live money. Their CAs (RIDs of Visa, Mastercard
// and UnionPay, indexes E1, E2, E3) are in capk.Default() flagged Test, so a
// terminal trusts them only when test keys are allowed. Replace them with
//
//	go run ./emv/cardsim/perso/internal/genkeys -force && go generate ./emv/capk
package perso
