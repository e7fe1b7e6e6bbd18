package nexo

import (
	"path/filepath"
	"testing"

	"posagent/uplink/acqsim"
)

// The acquirer simulator's rules for the daemon's payments.
const daemonRules = `{"rules": [
 {"name": "decline", "mti": ["0200", "0100"], "amount": 5100, "response_code": "51"},
 {"name": "slow", "mti": ["0200", "0100"], "amount": 7700, "delay": "3s"}]}`

// startAcquirer runs the acquirer simulator (mutual TLS, journal) in the
// test process, so that it outlives a killed daemon.
func startAcquirer(t testing.TB, tlsDir string) string {
	t.Helper()
	stls, err := acqsim.ServerTLS(tlsDir)
	if err != nil {
		t.Fatal(err)
	}
	journal, err := acqsim.OpenJournal(filepath.Join(tlsDir, "..", "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := acqsim.ParseRules([]byte(daemonRules))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := acqsim.NewServer(acqsim.Config{TLS: stls, Journal: journal, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); journal.Close() })
	return a.String()
}
