package arqc_test

import (
	"fmt"
	"posagent/emv/cardsim/perso"

	"posagent/emv/arqc"
)

func Example() {
	imk, _ := perso.TestMasterKey("visa")
	pan, psn, atc := "4761739001010010", byte(0x01), [2]byte{0x00, 0x27}

	// Card side: the card holds the ICC master key and computes the ARQC.
	mk := arqc.DeriveICCMasterKey(imk, pan, psn)
	sk := arqc.SessionKey(mk, atc)
	data := []byte{0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0}
	ac := arqc.Compute(sk, data)

	// Issuer side: verify and answer with an ARPC for response code "00".
	fmt.Println(arqc.Verify(imk, pan, psn, atc, data, ac))
	arpc := arqc.ARPC(sk, ac, [2]byte{'0', '0'})
	fmt.Println(len(arpc))
	// Output:
	// true
	// 8
}
