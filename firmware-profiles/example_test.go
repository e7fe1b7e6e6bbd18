package firmwareprofiles_test

import (
	"fmt"

	firmwareprofiles "posagent/firmware-profiles"
)

func ExampleSet_Match() {
	set, err := firmwareprofiles.Embedded()
	if err != nil {
		panic(err)
	}
	p := set.Match("ACS ACR122U PICC Interface 00 00")
	fmt.Println(p.Name, p.Contactless, p.MaxAPDU, p.LEDBuzzer.Via)
	fmt.Printf("% X\n", p.LEDBuzzer.Commands[firmwareprofiles.SignalSuccess][0])
	fmt.Println(set.Match("Virtual PCD 00 00").TestOnly)
	fmt.Println(set.Match("Some Unknown Reader 00 00").Name)
	// Output:
	// ACS ACR122U true 261 apdu
	// FF 00 40 0E 04 02 00 01 01
	// true
	// Generic PC/SC reader
}
