package trace_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"posagent/reader/trace"
)

func ExampleParse() {
	const file = `@ scheme: visa
# SELECT AID A0000000031010, recorded as the partial name A000000003
> 00 A4 04 00 05 A0 00 00 00 03 00
< 6F 09 84 07 A0 00 00 00 03 10 10 90 00
> *
< 67 00
`
	t, err := trace.Parse(strings.NewReader(file))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Get("scheme"), len(t.Exchanges), "exchanges")
	fmt.Println(trace.Describe(t.Exchanges[0].Command))
	_, err = trace.Parse(strings.NewReader("> 00 A4 04 00\n> 00 B2 01 0C 00\n"))
	fmt.Println(err)
	// Output:
	// visa 2 exchanges
	// SELECT A000000003
	// trace: line 2: command after a command (line 1 has no response)
}

func ExampleNewReplayer() {
	t, _ := trace.Parse(strings.NewReader(`> 80 CA 9F 7F 00
< 9F 7F 01 00 90 00
> 00 A4 04 00 05 A0 00 00 00 03 00
< 6F 09 84 07 A0 00 00 00 03 10 10 90 00
`))
	r := trace.NewReplayer(t)
	ctx := context.Background()
	// The kernel selects the full AID and never asks for the CPLC.
	resp, _ := r.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0, 0, 0, 0x03, 0x10, 0x10, 0x00})
	fmt.Printf("% X\n", resp[len(resp)-2:])
	// A command the recording does not have.
	resp, _ = r.Transmit(ctx, []byte{0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00})
	fmt.Printf("% X\n", resp)
	for _, d := range r.Divergence() {
		fmt.Println(d.Exchange, d.Command, d.Reason)
	}
	// Output:
	// 90 00
	// 6D 00
	// 0 80CA9F7F skipped recorded GET DATA 9F7F (Card Production Life Cycle (CPLC)) never asked by the kernel
	// 1 00A40400 SELECT A0000000031010 answered by recorded SELECT A000000003 (partial name)
	// -1 80A80000 no recorded exchange for GET PROCESSING OPTIONS; answered 6D00
}

// card answers every command with 9000 and a PAN.
type card struct{}

func (card) Transmit(context.Context, []byte) ([]byte, error) {
	return []byte{0x70, 0x0A, 0x5A, 0x08, 0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10, 0x90, 0x00}, nil
}

func ExampleNewRecorder() {
	rec := trace.NewRecorder(card{}, trace.RecordOptions{Meta: []trace.Meta{{Key: "scheme", Value: "visa"}}})
	rec.Transmit(context.Background(), []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
	rec.Trace().WriteTo(os.Stdout)
	// Output:
	// @ scheme: visa
	// @ masked: yes
	// > 00 B2 01 0C 00
	// < 70 0A 5A 08 47 61 73 99 99 99 00 10 90 00
}
