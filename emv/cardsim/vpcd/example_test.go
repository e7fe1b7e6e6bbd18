package vpcd_test

import (
	"context"
	"fmt"
	"time"

	"posagent/emv/cardsim/vpcd"
)

// answerAll is a card that answers 90 00 to everything.
type answerAll struct{}

func (answerAll) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	return []byte{0x90, 0x00}, nil
}
func (answerAll) Reset()      {}
func (answerAll) ATR() []byte { return []byte{0x3B, 0x80, 0x80, 0x01, 0x01} }

// Tap a card on "Virtual PCD 00 00" for two seconds.
func ExampleAttach() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := vpcd.Attach(ctx, vpcd.DefaultAddr, answerAll{}, vpcd.Options{})
	if err != nil {
		fmt.Println(err) // *vpcd.DialError when pcscd or the driver is not there
		return
	}
	fmt.Println("answered", st.APDUs, "APDUs; removed:", st.Removed)
}
