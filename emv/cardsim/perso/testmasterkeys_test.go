package perso_test

import (
	"math/bits"
	"testing"

	"posagent/emv/arqc"
	"posagent/emv/cardsim/perso"
)

func TestTestMasterKey(t *testing.T) {
	seen := map[arqc.Key]string{}
	for _, s := range []string{"visa", "mastercard", "unionpay"} {
		k, ok := perso.TestMasterKey(s)
		if !ok {
			t.Fatalf("%s: no key", s)
		}
		if prev, dup := seen[k]; dup {
			t.Fatalf("%s and %s share a key", s, prev)
		}
		seen[k] = s
		for i, b := range k {
			if bits.OnesCount8(b)%2 != 1 {
				t.Errorf("%s byte %d has even parity", s, i)
			}
		}
	}
	for _, s := range []string{"", "amex", "VISA"} {
		if _, ok := perso.TestMasterKey(s); ok {
			t.Errorf("perso.TestMasterKey(%q) ok", s)
		}
	}
}
