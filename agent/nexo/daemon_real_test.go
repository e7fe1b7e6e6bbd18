package nexo

import (
	"os"
	"path/filepath"
	"time"

	"posagent/agent"
	"posagent/agent/input/sim"
	"posagent/emv"
	"posagent/offline"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

// daemonEngine is the child daemon's engine: agent's engine on a bbolt file
// in the test's directory, the uplink over mutual TLS to the acquirer
// simulator, and the built-in simulated reader: a Visa card for 25.00 and
// 51.00 (the acquirer declines 51.00), none for other amounts (the payment
// waits for a card).
func daemonEngine(a daemonArgs) (Engine, error) {
	reader, err := sim.New(sim.Options{Rules: []sim.Rule{{Min: 2500, Max: 2500, Preset: "visa"}, {Min: 5100, Max: 5100, Preset: "visa"}, {Min: 7700, Max: 7700, Preset: "visa"}, {Min: 100, Max: 1500, Preset: "visa"}}})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(a.Dir, "keys"), 0o700); err != nil {
		return nil, err
	}
	tlsDir := filepath.Join(a.Dir, "tls")
	ctls, err := acqsim.ClientTLSFiles(tlsDir).Load()
	if err != nil {
		return nil, err
	}
	term := emv.DefaultConfig()
	term.TestKeys = true // software cards are signed by test CAs
	for i := range term.AIDs {
		term.AIDs[i].FloorLimit = 0
	}
	eng, err := agent.Open(agent.Config{
		DataFile: filepath.Join(a.Dir, "data", offline.DBFileName),
		Store: offline.Options{
			KeyFile:    filepath.Join(a.Dir, "keys", offline.KeyFileName),
			SecretFile: filepath.Join(a.Dir, "keys", offline.SecretFileName),
		},
		Terminal:    &term,
		Readers:     []agent.Reader{reader},
		CardTimeout: 60 * time.Second,
		Acquirer: &uplink.Config{Addr: a.Acquirer, TLS: ctls, AcquirerID: "12345",
			ResponseTimeout: 5 * time.Second, ConnectWait: time.Second},
	})
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for !eng.Status().Uplink.Up && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return eng, nil
}
