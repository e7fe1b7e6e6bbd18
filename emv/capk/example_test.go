package capk_test

import (
	"fmt"

	"posagent/emv/capk"
)

// Mastercard index 05 has two keys in the reference list; both are
// candidates and the certificate length picks the one to use.
func ExampleList_Candidates() {
	rid := []byte{0xA0, 0x00, 0x00, 0x00, 0x04}
	for _, k := range capk.Default().Candidates(rid, 0x05, false) {
		fmt.Println(k)
	}
	// Output:
	// A000000004/05 1024-bit (live)
	// A000000004/05 1408-bit (live)
}
