// Command donglesim is a Bluetooth/USB-serial mPOS card dongle in software:
// it sits on the device side of a pseudo-terminal, hosts an emv/cardsim
// software card and answers the dongle protocol (docs/dongle-protocol.md),
// so that `posagent tap --reader serial:PATH` and the agent see a dongle as
// they would on /dev/rfcomm0.
//
//	donglesim --link /tmp/rfcomm0 --card visa [--profile donglesim] [--tap-after D]
//	          [--battery N] [--battery-per-tap N] [--flip-every N] [--drop-every N]
//	          [--lose-every N] [--ignore-every N] [--garbage N --garbage-every N]
//	          [--delay D] [--drop-link-at-apdu N] [--drop-for D] [-v]
//
// --link is a symlink to the current pseudo-terminal; when the link drops
// (--drop-link-at-apdu, or SIGUSR1) the terminal is closed, the symlink is
// removed and a new terminal comes back behind it after --drop-for, as
// /dev/rfcomm0 does when a Bluetooth link goes and returns.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"posagent/emv/cardsim"
	firmwareprofiles "posagent/firmware-profiles"
	"posagent/reader/serial/device"
	"posagent/reader/serial/frame"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	drops := make(chan struct{}, 1)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			select {
			case drops <- struct{}{}:
			default:
			}
		}
	}()
	code := run(ctx, os.Args[1:], drops, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, drops <-chan struct{}, stderr io.Writer) int {
	fs := flag.NewFlagSet("donglesim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	link := fs.String("link", "", "stable path for the host (a symlink to the current pty, like /dev/rfcomm0); required")
	card := fs.String("card", "visa", "card preset: "+strings.Join(cardsim.Presets(), ", "))
	noCard := fs.Bool("no-card", false, "never present a card (POLL waits, then answers no card)")
	profID := fs.String("profile", "donglesim", "dongle profile giving EDC, block size and BWT")
	profDir := fs.String("profiles", "", "directory whose dongles/ folder overrides the embedded dongle profiles")
	var o device.Options
	fs.StringVar(&o.Model, "model", "donglesim", "model reported by INFO")
	fs.StringVar(&o.Firmware, "firmware", "1.0.0", "firmware version reported by INFO")
	fs.StringVar(&o.Serial, "serial", "DS-000001", "serial number reported by INFO")
	fs.DurationVar(&o.TapAfter, "tap-after", 0, "the card comes this long after a POLL starts")
	fs.IntVar(&o.Battery, "battery", 100, "battery charge at start, percent")
	fs.IntVar(&o.BatteryPerTap, "battery-per-tap", 0, "percent drained by every tap (a battery running low)")
	fs.IntVar(&o.Faults.FlipEvery, "flip-every", 0, "flip one bit in every Nth block sent")
	fs.IntVar(&o.Faults.DropEvery, "drop-every", 0, "drop one byte of every Nth block sent")
	fs.IntVar(&o.Faults.LoseEvery, "lose-every", 0, "do not send every Nth block")
	fs.IntVar(&o.Faults.IgnoreEvery, "ignore-every", 0, "ignore every Nth block received (lost on the way in)")
	fs.IntVar(&o.Faults.Garbage, "garbage", 0, "noise bytes written before every --garbage-every'th block")
	fs.IntVar(&o.Faults.GarbageEvery, "garbage-every", 0, "see --garbage")
	fs.DurationVar(&o.Faults.Delay, "delay", 0, "wait before answering every command (past the BWT: WTX)")
	fs.IntVar(&o.Faults.DropLinkAtAPDU, "drop-link-at-apdu", 0, "drop the link when the Nth APDU arrives (then it comes back)")
	dropFor := fs.Duration("drop-for", 500*time.Millisecond, "how long a dropped link stays away")
	verbose := fs.Bool("v", false, "log protocol events and faults (never APDU bytes)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: donglesim --link PATH [--card visa] [--profile ID] [fault flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "donglesim: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case *link == "":
		return bad("--link is required")
	case o.Battery < 0 || o.Battery > 100:
		return bad("--battery %d is not 0..100", o.Battery)
	}
	set, err := firmwareprofiles.LoadDongles(*profDir)
	if err != nil {
		fmt.Fprintf(stderr, "donglesim: %v\n", err)
		return 1
	}
	prof, ok := set.Lookup(*profID)
	if !ok {
		return bad("--profile %q: no such dongle profile", *profID)
	}
	if prof.CRC {
		o.EDC = frame.CRC
	}
	o.IFS, o.BWT = prof.MaxBlock, prof.BWT
	if !*noCard {
		p, err := cardsim.Preset(*card)
		if err != nil {
			return bad("--card: %v", err)
		}
		c, err := cardsim.New(p)
		if err != nil {
			fmt.Fprintf(stderr, "donglesim: %v\n", err)
			return 1
		}
		o.NewCard = func() (device.Card, error) {
			c.Reset()
			return c, nil
		}
	}
	o.Logger = slog.New(slog.DiscardHandler)
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	dev := device.New(o)
	err = device.ServePTY(ctx, dev, device.PTYOptions{Link: *link, DropFor: *dropFor, Drops: drops,
		Ready: func(tty string) {
			fmt.Fprintf(stderr, "donglesim: ready on %s (%s, profile %s)\n", *link, tty, prof.ID)
		}})
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "donglesim: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "donglesim: stopped after %d taps, %d APDUs\n", dev.Taps(), dev.APDUs())
	return 0
}
