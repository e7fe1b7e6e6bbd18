package main

import (
	"context"
	"log/slog"
	"path"

	"posagent/agent"
	firmwareprofiles "posagent/firmware-profiles"
	"posagent/reader/pcsc"
)

// pcscInput is one engine input over every PC/SC reader whose name matches
// a configured pattern: it waits for a card on any of them and connects
// with the reader's firmware profile. Only contactless-capable readers
// (by profile) take payments.
type pcscInput struct {
	pc       *pcsc.Context
	profiles *firmwareprofiles.Set
	patterns []string
}

// pcscInputs opens the PC/SC input for the patterns (none: no input).
func pcscInputs(patterns []string, log *slog.Logger) ([]agent.Reader, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	profiles, err := firmwareprofiles.Embedded()
	if err != nil {
		return nil, err
	}
	pc, err := pcsc.Open(pcsc.Options{Logger: log.With("part", "pcsc")})
	if err != nil {
		return nil, err
	}
	return []agent.Reader{&pcscInput{pc: pc, profiles: profiles, patterns: patterns}}, nil
}

// Name implements agent.Reader.
func (p *pcscInput) Name() string { return "pcsc" }

func (p *pcscInput) match(name string) bool {
	if !p.profiles.Match(name).Contactless {
		return false
	}
	for _, pat := range p.patterns {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
	}
	return false
}

// WaitCard implements agent.Reader.
func (p *pcscInput) WaitCard(ctx context.Context, amount int64) (agent.CardSession, error) {
	st, err := p.pc.WaitCard(ctx, p.match)
	if err != nil {
		return nil, err
	}
	prof := p.profiles.Match(st.Reader)
	card, err := p.pc.Connect(ctx, st.Reader, pcsc.ConnectOptions{Contactless: prof.Contactless, MaxAPDU: prof.MaxAPDU})
	if err != nil {
		return nil, err
	}
	return card, nil
}

var _ agent.CardSession = (*pcsc.Card)(nil)
