package cardsim_test

import (
	"context"
	"fmt"

	"posagent/emv/cardsim"
	"posagent/emv/tlv"
	"posagent/reader"
)

// A Visa-like card answering a reader: PPSE, SELECT, then GET PROCESSING
// OPTIONS for 10.00 EUR on a reader that may approve offline.
func Example() {
	p, err := cardsim.Preset("visa")
	if err != nil {
		panic(err)
	}
	card, err := cardsim.New(p)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	_, sw, _ := reader.Exchange(ctx, card, reader.Select([]byte("2PAY.SYS.DDF01")))
	fmt.Println("PPSE:", sw)
	fci, sw, _ := reader.Exchange(ctx, card, reader.Select(p.AID))
	objs, _ := tlv.Parse(fci)
	pdol, _ := tlv.ParseDOL(tlv.Value(objs, 0x9F38))
	fmt.Println("SELECT:", sw, "PDOL asks", pdol.Len(), "bytes")

	terminal := map[tlv.Tag][]byte{
		0x9F66: {0x36, 0x00, 0x40, 0x00}, // TTQ: qVSDC, online PIN, signature, CDCVM
		0x9F02: {0x00, 0x00, 0x00, 0x00, 0x10, 0x00},
		0x5F2A: {0x09, 0x78},
		0x9F1A: {0x02, 0x50},
		0x9A:   {0x26, 0x11, 0x25},
		0x9F37: {0x01, 0x02, 0x03, 0x04},
	}
	data := pdol.Build(func(t tlv.Tag) ([]byte, bool) { v, ok := terminal[t]; return v, ok })
	resp, sw, _ := reader.Exchange(ctx, card, reader.GetProcessingOptions(tlv.Encode(0x83, data)))
	gpo, _ := tlv.Parse(resp)
	fmt.Printf("GPO: %v CID %X ATC %X fDDA signature %d bytes\n", sw,
		tlv.Value(gpo, 0x9F27), tlv.Value(gpo, 0x9F36), len(tlv.Value(gpo, 0x9F4B)))
	// Output:
	// PPSE: status word 9000 (success)
	// SELECT: status word 9000 (success) PDOL asks 33 bytes
	// GPO: status word 9000 (success) CID 40 ATC 0011 fDDA signature 128 bytes
}
