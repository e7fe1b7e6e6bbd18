package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	firmwareprofiles "posagent/firmware-profiles"
	"posagent/reader/pcsc"
)

// readerView is one reader as `posagent readers` shows it.
type readerView struct {
	Reader      string `json:"reader"`
	Profile     string `json:"profile"`
	Model       string `json:"model"`
	Contactless bool   `json:"contactless"`
	TestOnly    bool   `json:"test_only,omitempty"`
	Present     bool   `json:"present"`
	ATR         string `json:"atr,omitempty"`
}

// readerEvent is one line of `posagent readers --watch --json`.
type readerEvent struct {
	Time    string `json:"time"`
	Event   string `json:"event"`
	Reader  string `json:"reader,omitempty"`
	Profile string `json:"profile,omitempty"`
	Present bool   `json:"present"`
	ATR     string `json:"atr,omitempty"`
}

// loadProfiles returns the embedded reader profiles, overridden by dir.
func loadProfiles(dir string) (*firmwareprofiles.Set, error) {
	if dir == "" {
		return firmwareprofiles.Embedded()
	}
	return firmwareprofiles.Load(dir)
}

func atrHex(atr []byte) string { return strings.ToUpper(hex.EncodeToString(atr)) }

// runReaders lists PC/SC readers with their profile and card, or streams
// reader and card events with --watch.
func runReaders(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("posagent readers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	watch := fs.Bool("watch", false, "stream reader and card events until interrupted")
	asJSON := fs.Bool("json", false, "JSON output (one object per line with --watch)")
	profDir := fs.String("profiles", "", "directory of reader profiles overriding the embedded ones")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: posagent readers [--watch] [--json] [--profiles DIR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "posagent readers: %v\n", err)
		return 1
	}
	profiles, err := loadProfiles(*profDir)
	if err != nil {
		return fail(err)
	}
	pc, err := pcsc.Open(pcsc.Options{})
	if err != nil {
		return fail(err)
	}
	defer pc.Close()

	if *watch {
		return watchReaders(ctx, pc, profiles, *asJSON, stdout, stderr)
	}
	states, err := pc.Readers()
	if err != nil {
		return fail(err)
	}
	views := make([]readerView, 0, len(states))
	for _, s := range states {
		p := profiles.Match(s.Reader)
		views = append(views, readerView{Reader: s.Reader, Profile: p.ID, Model: p.Name,
			Contactless: p.Contactless, TestOnly: p.TestOnly, Present: s.Present, ATR: atrHex(s.ATR)})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(views); err != nil {
			return fail(err)
		}
		return 0
	}
	if len(views) == 0 {
		fmt.Fprintln(stdout, "no readers")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "READER\tPROFILE\tCARD\tATR")
	for _, v := range views {
		prof := v.Profile
		if v.TestOnly {
			prof += " (test-only)"
		}
		card := "empty"
		if v.Present {
			card = "present"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Reader, prof, card, v.ATR)
	}
	if err := tw.Flush(); err != nil {
		return fail(err)
	}
	return 0
}

// watchReaders streams events like pcsc_scan until ctx ends.
func watchReaders(ctx context.Context, pc *pcsc.Context, profiles *firmwareprofiles.Set, asJSON bool, stdout, stderr io.Writer) int {
	enc := json.NewEncoder(stdout)
	var werr error
	err := pc.Watch(ctx, pcsc.WatchOptions{}, func(e pcsc.Event) bool {
		ev := readerEvent{Time: e.Time.UTC().Format(time.RFC3339Nano), Event: e.Kind.String(), Reader: e.Reader,
			Present: e.Present, ATR: atrHex(e.ATR)}
		if e.Reader != "" {
			ev.Profile = profiles.Match(e.Reader).ID
		}
		if asJSON {
			werr = enc.Encode(ev)
		} else {
			line := fmt.Sprintf("%s %-14s", e.Time.Format("15:04:05.000"), ev.Event)
			if e.Reader != "" {
				line += fmt.Sprintf(" %q (%s)", e.Reader, ev.Profile)
			}
			switch {
			case e.Kind == pcsc.ServiceLost:
				line += " pcscd went away, waiting for it"
			case e.Present:
				line += " card " + ev.ATR
			case e.Kind == pcsc.ReaderAdded:
				line += " empty"
			}
			_, werr = fmt.Fprintln(stdout, line)
		}
		return werr == nil
	})
	if werr != nil {
		fmt.Fprintf(stderr, "posagent readers: %v\n", werr)
		return 1
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "posagent readers: %v\n", err)
		return 1
	}
	return 0
}
