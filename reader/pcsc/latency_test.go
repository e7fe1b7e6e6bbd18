package pcsc_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"posagent/emv/cardsim/vpcd"
	"posagent/reader/pcsc/pcsctest"
)

// TestAPDULatency guards the TCP_QUICKACK re-arming of the vpcd card side:
// without it every APDU waits for a delayed ACK (~44 ms); with it the median
// is ~0.1 ms. The bound leaves room for a loaded CI machine.
func TestAPDULatency(t *testing.T) {
	c := open(t)
	pcsctest.Attach(t, pcsctest.Addr0, pcsctest.NewFixedCard(map[string]string{ppseCmd: ppseResp}), vpcd.Options{})
	waitCard(t, c, pcsctest.Reader0)
	k := connect(t, c, pcsctest.Reader0)
	if p := k.Protocol(); p != "T=1" {
		t.Errorf("contactless connect negotiated %s, want T=1", p)
	}
	cmd := pcsctest.MustHex(ppseCmd)
	var took []time.Duration
	for i := 0; i < 60; i++ {
		t0 := time.Now()
		if _, err := k.Transmit(context.Background(), cmd); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	median := took[len(took)/2]
	t.Logf("APDU round trip: median %v, min %v, max %v", median, took[0], took[len(took)-1])
	if median > 10*time.Millisecond {
		t.Errorf("median APDU round trip %v: delayed ACK is back (TCP_QUICKACK not re-armed?)", median)
	}
}
