// Package oda implements EMV offline data authentication (EMV Book 2): it
// recovers the issuer public key from its certificate with a CA public key
// (emv/capk), the ICC public key from its certificate, and verifies SDA,
// DDA, Visa fDDA and CDA signatures.
//
// The functions are pure: bytes in, typed result or error out, no logging,
// no clock (certificate expiry is judged against the transaction date the
// caller passes, so a replayed session judges as it did live). The RSA
// public operation is done with math/big after bounding the key (modulus at
// most 248 bytes, exponent at most 3 bytes), so hostile certificates cannot
// make it slow.
//
// Every failed check is a *CheckError that unwraps to a sentinel (ErrHash,
// ErrExpired, ErrPANMismatch, ...). Errors never carry key or certificate
// bytes, and PANs only as first 6 + last 4 digits.
package oda
