package serial

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	firmwareprofiles "posagent/firmware-profiles"
	"posagent/reader/serial/frame"
)

// Options configure a Dongle. The zero value of every field but Path works.
type Options struct {
	Path    string                   // device path, e.g. /dev/rfcomm0
	Profile *firmwareprofiles.Dongle // nil: the embedded fallback dongle profile
	Logger  *slog.Logger             // nil: discard

	// openPort replaces go.bug.st/serial in unit tests of the link logic.
	openPort func(path string, baud int) (Port, error)
}

// Dongle is one mPOS dongle on a device path. Its methods are safe for
// concurrent use; commands run one at a time.
type Dongle struct {
	path  string
	prof  *firmwareprofiles.Dongle
	cfg   linkConfig
	log   *slog.Logger
	open  func(string, int) (Port, error)
	stats Stats

	mu      sync.Mutex // one command at a time; guards the fields below
	link    *link
	gen     uint64 // link generation: a card belongs to one
	opened  int
	backoff time.Duration
	closed  bool
}

// New returns a Dongle without opening its path: the first command does.
func New(o Options) (*Dongle, error) {
	if o.Path == "" {
		return nil, errors.New("serial: no device path")
	}
	p := o.Profile
	if p == nil {
		set, err := firmwareprofiles.EmbeddedDongles()
		if err != nil {
			return nil, err
		}
		p = set.Fallback()
	}
	edc := frame.LRC
	if p.CRC {
		edc = frame.CRC
	}
	d := &Dongle{path: o.Path, prof: p, log: o.Logger, open: o.openPort,
		cfg: linkConfig{edc: edc, ifs: p.MaxBlock, bwt: p.BWT, cwt: p.CWT, retries: p.Retries}}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.open == nil {
		d.open = openSerial
	}
	return d, nil
}

// Open returns a Dongle with its path opened, or a *LinkError
// (ErrLinkDown) when the path cannot be opened before ctx ends.
func Open(ctx context.Context, o Options) (*Dongle, error) {
	d, err := New(o)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.connect(ctx, frame.CmdInfo, false); err != nil {
		return nil, err
	}
	return d, nil
}

// Path is the device path.
func (d *Dongle) Path() string { return d.path }

// Name is the reader name used in config and payments: "serial:" + path.
func (d *Dongle) Name() string { return "serial:" + d.path }

// Profile is the dongle profile in use.
func (d *Dongle) Profile() *firmwareprofiles.Dongle { return d.prof }

// Stats are the link's counters.
func (d *Dongle) Stats() *Stats { return &d.stats }

// Close closes the port. Commands after Close fail with ErrClosed.
func (d *Dongle) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.link != nil {
		d.link.close()
		d.link = nil
	}
	return nil
}

// connect makes sure a live link exists. With wait it retries opening the
// path with exponential backoff until ctx ends; without, one attempt.
// Called with d.mu held.
func (d *Dongle) connect(ctx context.Context, cmd frame.Cmd, wait bool) (*link, error) {
	if d.closed {
		return nil, &LinkError{Path: d.path, Cmd: cmd, Err: ErrClosed}
	}
	if d.link != nil && d.link.alive() {
		return d.link, nil
	}
	if d.link != nil {
		d.stats.LinkDrops.Add(1)
		d.log.Warn("dongle link down", "path", d.path, "err", d.link.dead)
		d.link.close()
		d.link = nil
	}
	for {
		p, err := d.open(d.path, d.prof.Baud)
		if err == nil {
			l := newLink(p, d.cfg, &d.stats, d.log)
			// A fresh link starts from sequence numbers 0 on both sides,
			// whatever the device remembers of an earlier session.
			if rerr := l.resynch(ctx, time.Time{}); rerr != nil {
				l.close()
				// The port opened but the device does not answer.
				err = &LinkError{Path: d.path, Cmd: cmd, Err: ErrNoResponse, Cause: rerr}
				if !wait || ctx.Err() != nil {
					return nil, err
				}
			} else {
				d.link = l
				d.gen++
				d.opened++
				if d.opened > 1 {
					d.stats.Reconnects.Add(1)
					d.log.Info("dongle link back", "path", d.path)
				}
				d.backoff = 0
				return l, nil
			}
		} else if !wait {
			return nil, &LinkError{Path: d.path, Cmd: cmd, Err: ErrLinkDown, Cause: err}
		}
		d.backoff = min(max(2*d.backoff, d.prof.ReconnectMin), d.prof.ReconnectMax)
		t := time.NewTimer(d.backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			var le *LinkError
			if errors.As(err, &le) {
				return nil, le
			}
			return nil, &LinkError{Path: d.path, Cmd: cmd, Err: ErrLinkDown, Cause: err}
		case <-t.C:
		}
	}
}

// fail turns a link error into a *LinkError; a dead port drops the link.
func (d *Dongle) fail(cmd frame.Cmd, err error) error {
	var ld *linkDown
	switch {
	case errors.As(err, &ld):
		if d.link != nil {
			d.link.close()
			d.link = nil
			d.stats.LinkDrops.Add(1)
		}
		return &LinkError{Path: d.path, Cmd: cmd, Err: ErrLinkDown, Cause: ld.err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &LinkError{Path: d.path, Cmd: cmd, Err: ErrCancelled, Cause: err}
	}
	for _, s := range []error{ErrTimeout, ErrNoResponse, ErrBadBlocks, ErrProtocol, ErrAborted, ErrLinkDown} {
		if errors.Is(err, s) {
			return &LinkError{Path: d.path, Cmd: cmd, Err: s}
		}
	}
	return &LinkError{Path: d.path, Cmd: cmd, Err: ErrProtocol, Cause: err}
}

// do runs one command within timeout: a *LinkError, a *StatusError, or
// the response data.
func (d *Dongle) do(ctx context.Context, gen uint64, cmd frame.Cmd, data []byte, timeout time.Duration) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	deadline := time.Now().Add(timeout)
	if gen != 0 && (gen != d.gen || d.link == nil || !d.link.alive()) {
		// The card session belonged to a link that is gone.
		return nil, &LinkError{Path: d.path, Cmd: cmd, Err: ErrLinkDown, Cause: ErrCardLost}
	}
	var msg []byte
	for attempt := 0; ; attempt++ {
		l := d.link
		if l == nil || !l.alive() {
			cctx, cancel := context.WithDeadline(ctx, deadline)
			var err error
			l, err = d.connect(cctx, cmd, true)
			cancel()
			if err != nil {
				return nil, err
			}
		} else if d.closed {
			return nil, &LinkError{Path: d.path, Cmd: cmd, Err: ErrClosed}
		}
		var err error
		msg, err = l.transact(ctx, frame.Request{Cmd: cmd, Data: data}.Bytes(), deadline)
		if err == nil {
			break
		}
		err = d.fail(cmd, err)
		// A link found dead by this command is reopened and the command
		// sent once more, unless it belongs to a card session (an APDU
		// must not run twice, and the card is gone with the link).
		if gen != 0 || attempt > 0 || !errors.Is(err, ErrLinkDown) || time.Now().After(deadline) {
			return nil, err
		}
	}
	r, err := frame.ParseResponse(msg, cmd)
	if err != nil {
		return nil, &LinkError{Path: d.path, Cmd: cmd, Err: ErrProtocol, Cause: err}
	}
	d.stats.CommandsDone.Add(1)
	if r.Status != frame.StatusOK {
		return nil, &StatusError{Cmd: cmd, Status: r.Status}
	}
	return r.Data, nil
}

// DeviceInfo is the INFO answer with the battery judged by the profile.
type DeviceInfo struct {
	frame.Info
	Low bool // the device says so, or Battery <= the profile's low_battery_percent
}

// Info asks the device for its model, firmware, serial number and battery.
func (d *Dongle) Info(ctx context.Context) (DeviceInfo, error) {
	data, err := d.do(ctx, 0, frame.CmdInfo, nil, d.prof.InfoTimeout)
	if err != nil {
		return DeviceInfo{}, err
	}
	i, err := frame.ParseInfo(data)
	if err != nil {
		return DeviceInfo{}, &LinkError{Path: d.path, Cmd: frame.CmdInfo, Err: ErrProtocol, Cause: err}
	}
	return DeviceInfo{Info: i, Low: i.BatteryLow || i.Battery <= d.prof.LowBattery}, nil
}

// Poll turns the field on and waits up to wait for a card (ErrNoCard when
// none came). wait 0 is the profile's poll timeout.
func (d *Dongle) Poll(ctx context.Context, wait time.Duration) (*Card, error) {
	if wait <= 0 {
		wait = d.prof.PollTimeout
	}
	wait = min(wait, 65535*time.Millisecond)
	// The device answers "no card" at wait; the link gives it a BWT more.
	data, err := d.do(ctx, 0, frame.CmdPoll, frame.Poll{TimeoutMS: int(wait / time.Millisecond)}.Bytes(), wait+2*d.prof.BWT)
	if err != nil {
		return nil, err
	}
	ci, err := frame.ParseCardInfo(data)
	if err != nil {
		return nil, &LinkError{Path: d.path, Cmd: frame.CmdPoll, Err: ErrProtocol, Cause: err}
	}
	d.mu.Lock()
	gen := d.gen
	d.mu.Unlock()
	return &Card{d: d, gen: gen, info: ci}, nil
}

// WaitCard polls until a card is presented or ctx ends. A link that drops
// while waiting is reopened (with backoff); other errors end the wait.
func (d *Dongle) WaitCard(ctx context.Context) (*Card, error) {
	for {
		c, err := d.Poll(ctx, 0)
		switch {
		case err == nil:
			return c, nil
		case ctx.Err() != nil:
			return nil, &LinkError{Path: d.path, Cmd: frame.CmdPoll, Err: ErrCancelled, Cause: ctx.Err()}
		case errors.Is(err, ErrNoCard), errors.Is(err, ErrLinkDown), errors.Is(err, ErrTimeout), errors.Is(err, ErrNoResponse):
			d.log.Debug("still waiting for a card", "path", d.path, "err", err)
			continue
		}
		return nil, err
	}
}

// UI drives the dongle's LED, buzzer and display.
func (d *Dongle) UI(ctx context.Context, u frame.UI) error {
	if _, err := frame.ParseUI(u.Bytes()); err != nil {
		return fmt.Errorf("serial: %w", err)
	}
	_, err := d.do(ctx, 0, frame.CmdUI, u.Bytes(), d.prof.UITimeout)
	return err
}

// signals maps the cardholder signals onto the dongle's UI.
var signals = map[firmwareprofiles.Signal]frame.UI{
	firmwareprofiles.SignalIdle:    {LED: frame.LEDBlue, LEDMS: 200},
	firmwareprofiles.SignalPresent: {LED: frame.LEDYellow, LEDMS: 500},
	firmwareprofiles.SignalSuccess: {LED: frame.LEDGreen, LEDMS: 1000, BeepMS: 100},
	firmwareprofiles.SignalFailure: {LED: frame.LEDRed, LEDMS: 1000, BeepMS: 400},
}

// Signal shows a cardholder signal (idle, present, success, failure).
func (d *Dongle) Signal(ctx context.Context, s firmwareprofiles.Signal) error {
	u, ok := signals[s]
	if !ok {
		return firmwareprofiles.ErrNoSignal
	}
	return d.UI(ctx, u)
}

// Card is a card the dongle found. It satisfies emv.Card.
type Card struct {
	d      *Dongle
	gen    uint64
	info   frame.CardInfo
	mu     sync.Mutex
	closed bool
}

// UID is the card's UID (anti-collision identifier).
func (c *Card) UID() []byte { return append([]byte(nil), c.info.UID...) }

// ATS is the card's answer to select (ISO 14443-4).
func (c *Card) ATS() []byte { return append([]byte(nil), c.info.ATS...) }

// Transmit sends a raw command APDU and returns the response with SW1 SW2.
// It applies no transport rule: callers use reader.Exchange.
func (c *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, &LinkError{Path: c.d.path, Cmd: frame.CmdAPDU, Err: ErrCardLost, Cause: ErrClosed}
	}
	if len(apdu) < 4 || len(apdu) > c.d.prof.MaxAPDU {
		return nil, &LinkError{Path: c.d.path, Cmd: frame.CmdAPDU, Err: ErrAPDULength, Cause: fmt.Errorf("%d bytes, the profile allows 4..%d", len(apdu), c.d.prof.MaxAPDU)}
	}
	return c.d.do(ctx, c.gen, frame.CmdAPDU, apdu, c.d.prof.APDUTimeout)
}

// Close releases the card (field off). A card whose link is gone is
// released already; that is not an error.
func (c *Card) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	_, err := c.d.do(context.Background(), c.gen, frame.CmdRelease, nil, c.d.prof.ReleaseTimeout)
	if errors.Is(err, ErrLinkDown) || errors.Is(err, ErrCardLost) {
		return nil
	}
	return err
}
