package pcsc_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"posagent/reader"
	"posagent/reader/pcsc"
)

// Wait for a card on any reader, select the PPSE and report a card pulled
// away mid-transaction.
func Example() {
	pc, err := pcsc.Open(pcsc.Options{})
	if err != nil {
		fmt.Println(err) // wraps pcsc.ErrNoService when pcscd is down
		return
	}
	defer pc.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := pc.WaitCard(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	card, err := pc.Connect(ctx, st.Reader, pcsc.ConnectOptions{Contactless: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer card.Close()
	data, sw, err := reader.Exchange(ctx, card, reader.Select([]byte("2PAY.SYS.DDF01")))
	switch {
	case errors.Is(err, pcsc.ErrCardRemoved):
		fmt.Println("card removed: no outcome")
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Printf("PPSE: %d bytes, %v\n", len(data), sw)
	}
}

// Stream reader and card events like pcsc_scan until ctx ends.
func ExampleContext_Watch() {
	pc, err := pcsc.Open(pcsc.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = pc.Watch(ctx, pcsc.WatchOptions{}, func(e pcsc.Event) bool {
		fmt.Println(e.Kind, e.Reader, e.Present)
		return true
	})
}
