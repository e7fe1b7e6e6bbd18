package pcsc_test

import (
	"bytes"
	"context"
	"testing"

	"posagent/emv/cardsim/vpcd"
	"posagent/reader"
	"posagent/reader/pcsc/pcsctest"
)

// TestPyscardSeesSameAnswer cross-checks with an independent PC/SC client.
func TestPyscardSeesSameAnswer(t *testing.T) {
	c := open(t)
	card := pcsctest.NewFixedCard(map[string]string{ppseCmd: ppseResp})
	pcsctest.Attach(t, pcsctest.Addr0, card, vpcd.Options{})
	waitCard(t, c, pcsctest.Reader0)

	theirs := pcsctest.PyscardTransmit(t, pcsctest.Reader0, ppseCmd)
	k := connect(t, c, pcsctest.Reader0)
	data, sw, err := reader.Exchange(context.Background(), k, reader.Select([]byte("2PAY.SYS.DDF01")))
	if err != nil {
		t.Fatal(err)
	}
	ours := append(data, sw.SW1(), sw.SW2())
	if !bytes.Equal(ours, theirs) {
		t.Errorf("pyscard saw % X\nwe saw      % X", theirs, ours)
	}
	if !bytes.Equal(ours, pcsctest.MustHex(ppseResp)) {
		t.Errorf("answer % X is not the card's", ours)
	}
	if card.Commands() != 2 {
		t.Errorf("the card answered %d commands, want 2 (pyscard's and ours)", card.Commands())
	}
}
