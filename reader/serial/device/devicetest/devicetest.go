// Package devicetest starts software dongles (reader/serial/device) on real
// pseudo-terminals for tests: one call gives a device path, as
// /dev/rfcomm0 would be, with a software card of any emv/cardsim preset.
package devicetest

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"posagent/emv"
	"posagent/emv/cardsim"
	firmwareprofiles "posagent/firmware-profiles"
	"posagent/reader/serial/device"
	"posagent/reader/serial/frame"
)

// Profile returns the embedded dongle profile id ("donglesim" for tests).
func Profile(t testing.TB, id string) *firmwareprofiles.Dongle {
	t.Helper()
	set, err := firmwareprofiles.EmbeddedDongles()
	if err != nil {
		t.Fatal(err)
	}
	p, ok := set.Lookup(id)
	if !ok {
		t.Fatalf("no dongle profile %q", id)
	}
	return p
}

// SoftCard returns a NewCard function handing out one software card of the
// preset, reset for every tap.
func SoftCard(t testing.TB, preset string) func() (device.Card, error) {
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

// Sim is a software dongle on a pty behind a symlink.
type Sim struct {
	Dev   *device.Device
	Path  string        // the symlink the host opens
	Ready chan string   // receives the tty each time the link is up
	Drops chan struct{} // send to drop the link (it comes back after 300 ms)
}

// Start runs a device with o on a pty; EDC, block size and BWT come from
// prof. The device stops at the end of the test.
func Start(t testing.TB, prof *firmwareprofiles.Dongle, o device.Options) *Sim {
	t.Helper()
	if prof.CRC {
		o.EDC = frame.CRC
	}
	o.IFS, o.BWT = prof.MaxBlock, prof.BWT
	s := &Sim{Dev: device.New(o), Path: filepath.Join(t.TempDir(), "rfcomm0"), Ready: make(chan string, 16), Drops: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- device.ServePTY(ctx, s.Dev, device.PTYOptions{Link: s.Path, DropFor: 300 * time.Millisecond, Drops: s.Drops,
			Ready: func(tty string) { s.Ready <- tty }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("ServePTY: %v", err)
		}
	})
	select {
	case <-s.Ready:
	case <-time.After(5 * time.Second):
		t.Fatal("dongle pty not ready")
	}
	return s
}

// Terminal is the kernel with the default configuration and the test CA
// keys allowed: what accepts the software cards.
func Terminal() *emv.Terminal {
	cfg := emv.DefaultConfig()
	cfg.TestKeys = true
	return &emv.Terminal{Config: cfg}
}
