package main

import (
	"io"
	"log/slog"
	"path/filepath"

	"posagent/uplink/acqsim"
)

// localAcquirer is an acquirer simulator on loopback with fresh
// certificates in dir/acquirer-tls and its journal in dir/journal.jsonl.
type localAcquirer struct {
	srv         *acqsim.Server
	journal     *acqsim.Journal
	journalPath string
	tlsDir      string
	addr        string
}

func startAcquirer(dir, rulesJSON string, logOut io.Writer) (*localAcquirer, error) {
	a := &localAcquirer{tlsDir: filepath.Join(dir, "acquirer-tls"), journalPath: filepath.Join(dir, "journal.jsonl")}
	if err := acqsim.InitCerts(a.tlsDir); err != nil {
		return nil, err
	}
	var err error
	if a.journal, err = acqsim.OpenJournal(a.journalPath); err != nil {
		return nil, err
	}
	stls, err := acqsim.ServerTLS(a.tlsDir)
	if err != nil {
		a.journal.Close()
		return nil, err
	}
	rules, err := acqsim.ParseRules([]byte(rulesJSON))
	if err != nil {
		a.journal.Close()
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(logOut, nil)).With("side", "acqsim")
	if a.srv, err = acqsim.NewServer(acqsim.Config{TLS: stls, Journal: a.journal, Rules: rules, Logger: log}); err != nil {
		a.journal.Close()
		return nil, err
	}
	addr, err := a.srv.Listen("127.0.0.1:0")
	if err != nil {
		a.close()
		return nil, err
	}
	a.addr = addr.String()
	return a, nil
}

func (a *localAcquirer) close() {
	if a.srv != nil {
		a.srv.Close()
	}
	a.journal.Close()
}
