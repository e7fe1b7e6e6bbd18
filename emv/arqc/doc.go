// Package arqc implements EMV application cryptograms, card and issuer side.
//
// It covers what a software card and a host simulator need to agree on an
// online authorisation:
//
//   - ICC master key derivation from an issuer master key (EMV Book 2 A1.4.1, Option A),
//   - the common session key derivation (EMV Book 2 A1.3),
//   - the application cryptogram itself, an ISO/IEC 9797-1 MAC algorithm 3
//     (retail MAC) with padding method 2 over the cryptogram input,
//   - the authorisation response cryptogram, ARPC method 1,
//   - verification of an ARQC by the issuer in constant time.
//
// Keys are double-length 3DES keys ([Key]). A Key never prints its value: its
// String method shows only the key check value. The package holds no key:
// the public test issuer master keys of the software cards are
// emv/cardsim/perso.TestMasterKey.
//
// The package does not log.
package arqc
