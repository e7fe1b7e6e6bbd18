package pcsc_test

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"posagent/agent"
	pcscinput "posagent/agent/input/pcsc"
	"posagent/emv"
	"posagent/emv/cardsim"
	"posagent/emv/cardsim/vpcd"
	"posagent/offline"
	"posagent/reader/pcsc"
	"posagent/reader/pcsc/pcsctest"
)

// TestEnginePaymentThroughPCSC runs a payment of the engine on a software
// card in a real pcscd's virtual reader (vpcd): no acquirer, within the
// floor limit, so it is approved offline with its advice queued.
func TestEnginePaymentThroughPCSC(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	pr, _ := cardsim.Preset("visa")
	card, err := cardsim.New(pr)
	if err != nil {
		t.Fatal(err)
	}
	pcsctest.Attach(t, pcsctest.Addr0, card, vpcd.Options{})
	pc, err := pcsc.Open(pcsc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	in, err := pcscinput.New(pc, pcscinput.Options{Name: "counter", Match: regexp.MustCompile("00 00$")})
	if err != nil {
		t.Fatal(err)
	}
	term := emv.DefaultConfig()
	term.TestKeys = true
	eng, err := agent.Open(agent.Config{DataFile: filepath.Join(t.TempDir(), offline.DBFileName), Terminal: &term,
		Store:   offline.Options{Limits: map[string]offline.Limit{"*": {PerTransaction: 5000}}},
		Readers: []agent.Reader{in}, FloorLimit: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(context.Background())
	p, err := eng.Pay(context.Background(), agent.PaymentRequest{ID: "pcsc-1", Amount: 1234, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	if p.State != agent.StateApprovedOffline || p.Reader != "counter" || p.Scheme != "visa" || p.MaskedPAN == "" {
		t.Fatalf("payment %+v", p)
	}
	if card.ATC() == pr.ATC {
		t.Fatal("the software card behind pcscd was never asked")
	}
}
