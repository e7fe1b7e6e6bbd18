package oda_test

import (
	"errors"
	"fmt"
	"time"

	"posagent/emv/capk"
	"posagent/emv/cardsim/perso"
	"posagent/emv/oda"
)

// A certificate past its expiry month fails with ErrExpired, judged against
// the transaction date passed in, not the clock.
func ExampleRecoverIssuerKey() {
	ca, _ := perso.TestCA("mastercard")
	key, _ := perso.TestIssuerKey("mastercard")
	issuer, _ := ca.NewIssuer(key, "541333", "0326", [3]byte{0, 0, 7})
	cands := []capk.Key{ca.CAPK()}
	pan := "5413330089010012"

	for _, date := range []time.Time{
		time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
	} {
		ik, err := oda.RecoverIssuerKey(cands, issuer.Cert, issuer.Remainder, issuer.Exponent, pan, date, nil)
		switch {
		case errors.Is(err, oda.ErrExpired):
			fmt.Println(date.Format(time.DateOnly), "expired")
		case err != nil:
			fmt.Println(date.Format(time.DateOnly), "failed:", err)
		default:
			fmt.Println(date.Format(time.DateOnly), "issuer", ik.IssuerID, "expires", ik.Expiry)
		}
	}
	// Output:
	// 2026-03-31 issuer 541333 expires 0326
	// 2026-04-01 expired
}
