package perso

import "posagent/emv/arqc"

// Test issuer master keys. TEST ONLY: these keys are published in this
// source file, so a cryptogram made with them proves nothing about a real
// card. They live here, beside the software cards' test CAs, and not in the
// production emv/arqc package. The software cards (emv/cardsim) personalise with ICC master keys
// derived from them and the acquirer simulator (uplink/acqsim) verifies
// ARQCs with them by default.
var testMasterKeys = map[string]arqc.Key{
	"visa":       {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10},
	"mastercard": {0x4A, 0x2F, 0x6B, 0x1C, 0x7C, 0x3E, 0x80, 0x91, 0xA4, 0xC4, 0xE6, 0xF7, 0x08, 0x19, 0x2A, 0x3B},
	"unionpay":   {0x5B, 0x3D, 0x7C, 0x2F, 0x8F, 0x40, 0xA1, 0xB3, 0xC2, 0xD5, 0xE5, 0xF7, 0x07, 0x19, 0x29, 0x3B},
}

// TestMasterKey returns the fixed TEST issuer master key (AC key) of a scheme:
// "visa", "mastercard" or "unionpay". ok is false for any other scheme.
// These keys are public and for tests, demos and simulators only.
func TestMasterKey(scheme string) (arqc.Key, bool) {
	k, ok := testMasterKeys[scheme]
	return k, ok
}
