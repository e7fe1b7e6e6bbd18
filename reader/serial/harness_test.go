package serial_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"posagent/emv"
	"posagent/emv/cardsim"
	firmwareprofiles "posagent/firmware-profiles"
	"posagent/reader/serial"
	"posagent/reader/serial/device"
	"posagent/reader/serial/frame"
)

// simProfile is the embedded donglesim profile.
func simProfile(t testing.TB) *firmwareprofiles.Dongle {
	t.Helper()
	set, err := firmwareprofiles.EmbeddedDongles()
	if err != nil {
		t.Fatal(err)
	}
	p, ok := set.Lookup("donglesim")
	if !ok {
		t.Fatal("no donglesim profile")
	}
	return p
}

// softCard returns a NewCard function for a cardsim preset.
func softCard(t testing.TB, preset string) func() (device.Card, error) {
	t.Helper()
	p, err := cardsim.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cardsim.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return func() (device.Card, error) {
		c.Reset()
		return c, nil
	}
}

// sim is a software dongle on a real pseudo-terminal behind a symlink, as
// /dev/rfcomm0 is.
type sim struct {
	dev   *device.Device
	path  string
	ready chan string
	drops chan struct{}
}

// startSim runs a device with o (EDC, IFS and BWT from prof) on a pty.
func startSim(t testing.TB, prof *firmwareprofiles.Dongle, o device.Options) *sim {
	t.Helper()
	if prof.CRC {
		o.EDC = frame.CRC
	}
	o.IFS = prof.MaxBlock
	o.BWT = prof.BWT
	s := &sim{dev: device.New(o), path: filepath.Join(t.TempDir(), "rfcomm0"), ready: make(chan string, 16), drops: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- device.ServePTY(ctx, s.dev, device.PTYOptions{Link: s.path, DropFor: 300 * time.Millisecond, Drops: s.drops,
			Ready: func(tty string) { s.ready <- tty }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && err != context.Canceled {
			t.Errorf("ServePTY: %v", err)
		}
	})
	select {
	case <-s.ready:
	case <-time.After(5 * time.Second):
		t.Fatal("pty not ready")
	}
	return s
}

func openDongle(t testing.TB, s *sim, prof *firmwareprofiles.Dongle) *serial.Dongle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := serial.Open(ctx, serial.Options{Path: s.path, Profile: prof})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// tap waits for the card and runs the kernel with the cardsim test keys.
func tap(ctx context.Context, d *serial.Dongle, amount int64) (*emv.Result, error) {
	card, err := d.WaitCard(ctx)
	if err != nil {
		return nil, err
	}
	defer card.Close()
	term := &emv.Terminal{Config: emv.DefaultConfig(), TestKeys: true}
	return term.Run(ctx, card, emv.Transaction{Amount: amount})
}

// direct runs the same transaction on the software card without a dongle.
func direct(t testing.TB, preset string, amount int64) *emv.Result {
	t.Helper()
	c, err := softCard(t, preset)()
	if err != nil {
		t.Fatal(err)
	}
	res, err := (&emv.Terminal{Config: emv.DefaultConfig(), TestKeys: true}).Run(context.Background(), c, emv.Transaction{Amount: amount})
	if err != nil {
		t.Fatal(err)
	}
	return res
}
