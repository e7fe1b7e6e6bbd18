// Command cardsim attaches a software contactless card (emv/cardsim) to the
// vsmartcard vpcd virtual reader of a real pcscd: connecting is a tap,
// disconnecting removes the card. Every PC/SC client on the machine then
// sees the card as if it lay on a USB reader.
//
//	cardsim --vpcd 127.0.0.1:35963 --card visa [--tap-after D] [--hold D]
//	        [--remove-after-apdus N] [--repeat N] [--gap D] [-v]
//	cardsim --list
//
// vpcd is a test-only driver; never install it on a production device.
package main

import (
	"context"
	"errors"
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
	"posagent/emv/cardsim/vpcd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command line of one run.
type options struct {
	addr        string
	card        string
	tapAfter    time.Duration
	hold        time.Duration
	removeAfter int
	repeat      int
	gap         time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cardsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.addr, "vpcd", vpcd.DefaultAddr, "address of the vpcd driver (35963: 'Virtual PCD 00 00', 35964: '00 01')")
	fs.StringVar(&o.card, "card", "", "card preset: "+strings.Join(cardsim.Presets(), ", "))
	fs.DurationVar(&o.tapAfter, "tap-after", 0, "wait this long before the (first) tap")
	fs.DurationVar(&o.hold, "hold", 0, "remove the card after this long on the reader (0: until interrupted, the reader closes, or --remove-after-apdus)")
	fs.IntVar(&o.removeAfter, "remove-after-apdus", 0, "answer N APDUs, then remove the card when the next one arrives (mid-transaction)")
	fs.IntVar(&o.repeat, "repeat", 1, "number of taps (0: forever)")
	fs.DurationVar(&o.gap, "gap", time.Second, "pause between two taps (pcscd notices a removal after up to ~400 ms)")
	list := fs.Bool("list", false, "list the card presets and exit")
	verbose := fs.Bool("v", false, "log protocol events (never APDU bytes)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cardsim --vpcd HOST:PORT --card NAME [--tap-after D] [--hold D] [--remove-after-apdus N] [--repeat N]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		for _, p := range cardsim.Presets() {
			fmt.Fprintln(stdout, p)
		}
		return 0
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "cardsim: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case o.card == "":
		return bad("--card is required")
	case o.repeat < 0 || o.removeAfter < 0 || o.hold < 0 || o.tapAfter < 0 || o.gap < 0:
		return bad("negative --repeat, --remove-after-apdus, --hold, --tap-after or --gap")
	}
	prof, err := cardsim.Preset(o.card)
	if err != nil {
		return bad("--card: %v", err)
	}
	card, err := cardsim.New(prof)
	if err != nil {
		fmt.Fprintf(stderr, "cardsim: %v\n", err)
		return 1
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if err := taps(ctx, o, card, log, stderr); err != nil {
		if errors.Is(err, context.Canceled) {
			return 0
		}
		fmt.Fprintf(stderr, "cardsim: %v\n", err)
		return 1
	}
	return 0
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// taps runs the taps one after the other.
func taps(ctx context.Context, o options, card vpcd.Card, log *slog.Logger, stderr io.Writer) error {
	if err := sleep(ctx, o.tapAfter); err != nil {
		return err
	}
	for n := 1; o.repeat == 0 || n <= o.repeat; n++ {
		if n > 1 {
			if err := sleep(ctx, o.gap); err != nil {
				return err
			}
		}
		tctx, cancel := ctx, context.CancelFunc(func() {})
		if o.hold > 0 {
			tctx, cancel = context.WithTimeout(ctx, o.hold)
		}
		t0 := time.Now()
		fmt.Fprintf(stderr, "cardsim: tap %d: %s card on %s\n", n, o.card, o.addr)
		st, err := vpcd.Attach(tctx, o.addr, card, vpcd.Options{Logger: log, RemoveAfterAPDUs: o.removeAfter})
		cancel()
		pulled := errors.Is(err, cardsim.ErrRemoved) // a preset that leaves the field by itself
		if err != nil && !pulled {
			return fmt.Errorf("tap %d: %w", n, err)
		}
		why := "held"
		switch {
		case pulled:
			why = "the card profile left the field"
		case ctx.Err() != nil:
			why = "interrupted"
		case o.removeAfter > 0 && st.APDUs == o.removeAfter:
			why = fmt.Sprintf("pulled mid-transaction after %d APDUs", st.APDUs)
		}
		fmt.Fprintf(stderr, "cardsim: tap %d: removed after %v, %d APDUs (%s)\n", n, time.Since(t0).Round(time.Millisecond), st.APDUs, why)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}
