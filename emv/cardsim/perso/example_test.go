package perso_test

import (
	"fmt"
	"time"

	"posagent/emv/capk"
	"posagent/emv/cardsim/perso"
	"posagent/emv/oda"
)

// Personalise a Visa software card with the test keys and verify its
// certificates and an fDDA signature as a terminal does.
func Example() {
	ca, _ := perso.TestCA("visa")
	issuerKey, _ := perso.TestIssuerKey("visa")
	iccKey, _ := perso.TestICCKey("visa")
	pan := "4761739001010010"
	static := []byte{0x5A, 0x08, 0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10}

	issuer, err := ca.NewIssuer(issuerKey, "476173", "1229", [3]byte{0, 0, 1})
	if err != nil {
		panic(err)
	}
	icc, err := issuer.NewICC(iccKey, pan, "1228", static)
	if err != nil {
		panic(err)
	}
	un, amount, currency, cad := []byte{1, 2, 3, 4}, []byte{0, 0, 0, 0, 0x10, 0}, []byte{0x09, 0x78}, []byte{0x01, 0, 0, 0, 0}
	sdad, err := icc.SignDynamic([]byte{0xCA, 0xFE}, oda.FDDAData(un, amount, currency, cad))
	if err != nil {
		panic(err)
	}

	// Terminal side.
	date := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	cands := capk.Default().Candidates(ca.RID[:], ca.Index, true) // test keys allowed
	ik, err := oda.RecoverIssuerKey(cands, issuer.Cert, issuer.Remainder, issuer.Exponent, pan, date, nil)
	if err != nil {
		panic(err)
	}
	iccPub, err := oda.RecoverICCKey(ik.PublicKey, icc.Cert, icc.Remainder, icc.Exponent, static, pan, date)
	if err != nil {
		panic(err)
	}
	num, err := oda.VerifyFDDA(*iccPub, sdad, un, amount, currency, cad)
	fmt.Println(ik.CA, err, fmt.Sprintf("%X", num))

	// A live terminal does not trust the test CA.
	_, err = oda.RecoverIssuerKey(capk.Default().Candidates(ca.RID[:], ca.Index, false), issuer.Cert, issuer.Remainder, issuer.Exponent, pan, date, nil)
	fmt.Println(err)
	// Output:
	// A000000003/E1 1408-bit (test) <nil> CAFE
	// oda: issuer public key certificate: no CA public key for this RID and index
}
