// Package sim is the built-in simulated contactless reader: software cards
// (emv/cardsim presets) in process, for demos, integration work without
// hardware, and tests. The card of a payment is the one presented with
// Present, else the first amount rule that matches, else the default
// preset; with none of them the reader waits (like a reader nobody taps).
package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"posagent/agent"
	"posagent/emv/cardsim"
)

// Rule picks a preset by the payment's amount (minor units): Min <= amount
// and (Max == 0 or amount <= Max).
type Rule struct {
	Min, Max int64
	Preset   string
}

// Options configures a Reader. The zero value is a reader named
// "simulated" that waits until Present is called.
type Options struct {
	Name    string        // default "simulated"
	Default string        // preset tapped when no rule matches ("" = wait for Present)
	Rules   []Rule        // first match wins
	Delay   time.Duration // time before the card is "tapped" (0 = at once)
}

// Reader is the simulated reader. It keeps one card per preset, so
// counters (ATC) grow across payments as on a real card.
type Reader struct {
	opts Options

	mu      sync.Mutex
	cards   map[string]*cardsim.Card
	next    []string      // presets presented for the coming payments
	arrived chan struct{} // signalled by Present
}

// ErrNoPreset means a preset name is unknown.
var ErrNoPreset = errors.New("sim: unknown card preset")

// New checks the presets named in opts.
func New(opts Options) (*Reader, error) {
	if opts.Name == "" {
		opts.Name = "simulated"
	}
	r := &Reader{opts: opts, cards: map[string]*cardsim.Card{}, arrived: make(chan struct{}, 1)}
	check := func(name string) error {
		if name == "" {
			return nil
		}
		if _, err := cardsim.Preset(name); err != nil {
			return fmt.Errorf("%w: %q", ErrNoPreset, name)
		}
		return nil
	}
	if err := check(opts.Default); err != nil {
		return nil, err
	}
	for i, rule := range opts.Rules {
		if rule.Preset == "" {
			return nil, fmt.Errorf("sim: rule %d names no preset", i)
		}
		if err := check(rule.Preset); err != nil {
			return nil, err
		}
		if rule.Max != 0 && rule.Max < rule.Min {
			return nil, fmt.Errorf("sim: rule %d: max below min", i)
		}
	}
	return r, nil
}

// Name implements agent.Reader.
func (r *Reader) Name() string { return r.opts.Name }

// Present taps the card of the preset on the reader: the payment waiting
// now, or the next one, gets it (before any amount rule).
func (r *Reader) Present(preset string) error {
	if _, err := cardsim.Preset(preset); err != nil {
		return fmt.Errorf("%w: %q", ErrNoPreset, preset)
	}
	r.mu.Lock()
	r.next = append(r.next, preset)
	r.mu.Unlock()
	select {
	case r.arrived <- struct{}{}:
	default:
	}
	return nil
}

// Card returns the reader's card of a preset (created on first use).
func (r *Reader) Card(preset string) (*cardsim.Card, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cardLocked(preset)
}

func (r *Reader) cardLocked(preset string) (*cardsim.Card, error) {
	if c := r.cards[preset]; c != nil {
		return c, nil
	}
	p, err := cardsim.Preset(preset)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrNoPreset, preset)
	}
	c, err := cardsim.New(p)
	if err != nil {
		return nil, err
	}
	r.cards[preset] = c
	return c, nil
}

// pick returns the preset for a payment of amount, or "".
func (r *Reader) pick(amount int64) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.next) > 0 {
		p := r.next[0]
		r.next = r.next[1:]
		return p
	}
	for _, rule := range r.opts.Rules {
		if amount >= rule.Min && (rule.Max == 0 || amount <= rule.Max) {
			return rule.Preset
		}
	}
	return r.opts.Default
}

// WaitCard implements agent.Reader.
func (r *Reader) WaitCard(ctx context.Context, amount int64) (agent.CardSession, error) {
	for {
		if preset := r.pick(amount); preset != "" {
			if r.opts.Delay > 0 {
				t := time.NewTimer(r.opts.Delay)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil, ctx.Err()
				case <-t.C:
				}
			}
			r.mu.Lock()
			c, err := r.cardLocked(preset)
			r.mu.Unlock()
			if err != nil {
				return nil, err
			}
			c.Reset() // power on: a fresh session
			return &session{Card: c}, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.arrived:
		}
	}
}

// session is a presented software card.
type session struct{ *cardsim.Card }

// Close implements agent.CardSession (the card leaves the field).
func (s *session) Close() error { return nil }
