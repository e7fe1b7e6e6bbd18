package device

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// PTYOptions configure ServePTY.
type PTYOptions struct {
	// Link is the stable path the host opens: a symlink to the current
	// pseudo-terminal, replaced on every reconnect. Empty: no symlink (use
	// the Ready callback's path).
	Link string
	// DropFor is how long the link stays away after a drop (the path is
	// removed meanwhile). 0: 200 ms.
	DropFor time.Duration
	// Ready is called with the terminal path (and after Link points to it)
	// each time the device side is up.
	Ready func(tty string)
	// Drops, when not nil, receives a value each time the link is dropped
	// on demand (send on it from a test or a signal handler).
	Drops <-chan struct{}
}

// ServePTY runs d on the device side of a pseudo-terminal until ctx ends.
// When a link drop fires (Faults.DropLinkAtAPDU or opts.Drops), the pty is
// closed (the host reads EIO or "port closed", as when RFCOMM drops), Link
// is removed, and after DropFor a new pty comes up behind Link.
func ServePTY(ctx context.Context, d *Device, opts PTYOptions) error {
	if opts.DropFor <= 0 {
		opts.DropFor = 200 * time.Millisecond
	}
	for {
		dropped, err := servePTYOnce(ctx, d, opts)
		if err != nil {
			return err
		}
		if !dropped {
			return ctx.Err()
		}
		d.log.Info("link dropped", "back in", opts.DropFor)
		if !sleep(ctx, opts.DropFor) {
			return ctx.Err()
		}
	}
}

func servePTYOnce(ctx context.Context, d *Device, opts PTYOptions) (dropped bool, err error) {
	master, tty, err := pty.Open()
	if err != nil {
		return false, fmt.Errorf("device: opening a pty: %w", err)
	}
	defer master.Close()
	// The device keeps the terminal side open too, so that the master does
	// not read EIO while no host has it open (between reconnects).
	defer tty.Close()
	if err := makeRaw(tty); err != nil {
		return false, fmt.Errorf("device: raw mode on %s: %w", tty.Name(), err)
	}
	if opts.Link != "" {
		if err := replaceLink(tty.Name(), opts.Link); err != nil {
			return false, err
		}
		defer os.Remove(opts.Link)
	}
	if opts.Ready != nil {
		opts.Ready(tty.Name())
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Serve(sctx, master) }()
	select {
	case err := <-done:
		if errors.Is(err, ErrLinkDropped) {
			return true, nil
		}
		if ctx.Err() != nil {
			return false, nil
		}
		return false, fmt.Errorf("device: serving %s: %w", tty.Name(), err)
	case <-opts.Drops:
		return true, nil
	case <-ctx.Done():
		return false, nil
	}
}

// replaceLink points link at target atomically (a new symlink renamed over
// the old one).
func replaceLink(target, link string) error {
	tmp := filepath.Join(filepath.Dir(link), fmt.Sprintf(".%s.%d", filepath.Base(link), os.Getpid()))
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("device: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("device: %w", err)
	}
	return nil
}

// makeRaw puts the terminal side in raw mode (cfmakeraw): until the host
// opens it with its own settings, nothing is echoed or translated.
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
