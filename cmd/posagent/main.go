// Command posagent is the terminal-side payment agent: it runs the EMV
// contactless kernel against real readers, replays recorded card sessions,
// and manages the store-and-forward queue. main only wires packages together;
// the logic lives in the libraries.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one sub-command: run gets the arguments after its name and
// returns the process exit code.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"trace", "show or replay a recorded card session (.trace)", runTrace},
		{"readers", "list PC/SC readers, their profiles and cards (--watch streams events)", runReaders},
		{"tap", "wait for a card on a reader and run a contactless payment", runTap},
		{"queue", "inspect and manage the store-and-forward queue", runQueue},
		{"serve", "run the daemon: engine and local API (--config /etc/posagent/posagent.toml)", runServe},
		{"demo", "a payment day through the local API (acqsim, daemon, simulated cards); --keep leaves it up", runDemo},
		{"qr", "parse, show, decode and scan payment QR codes", runQR},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "posagent: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: posagent COMMAND [flags]")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
}
