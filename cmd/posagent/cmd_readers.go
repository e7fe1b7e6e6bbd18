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
	// Dongles (serial:PATH) only.
	Kind       string `json:"kind,omitempty"` // "serial"; empty for PC/SC
	Firmware   string `json:"firmware,omitempty"`
	Serial     string `json:"serial_number,omitempty"`
	Battery    *int   `json:"battery_percent,omitempty"`
	BatteryLow bool   `json:"battery_low,omitempty"`
	Charging   bool   `json:"charging,omitempty"`
	Error      string `json:"error,omitempty"`
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
	var dongles pathList
	fs.Var(&dongles, "dongle", "device path of a serial dongle to list with its device info and battery (repeatable; pseudo-terminals and RFCOMM are never enumerated)")
	dongleProfile := fs.String("dongle-profile", "", "dongle profile ID for --dongle (default: the fallback dongle profile)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: posagent readers [--watch] [--json] [--profiles DIR] [--dongle PATH ...]")
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
	if err != nil && (len(dongles) == 0 || *watch) {
		return fail(err)
	}
	var views []readerView
	if err != nil {
		fmt.Fprintf(stderr, "posagent readers: PC/SC: %v\n", err)
	} else {
		defer pc.Close()
		if *watch {
			return watchReaders(ctx, pc, profiles, *asJSON, stdout, stderr)
		}
		states, err := pc.Readers()
		if err != nil {
			return fail(err)
		}
		for _, s := range states {
			p := profiles.Match(s.Reader)
			views = append(views, readerView{Reader: s.Reader, Profile: p.ID, Model: p.Name,
				Contactless: p.Contactless, TestOnly: p.TestOnly, Present: s.Present, ATR: atrHex(s.ATR)})
		}
	}
	for _, path := range dongles {
		views = append(views, dongleView(ctx, path, *dongleProfile, *profDir))
	}
	if views == nil {
		views = []readerView{}
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
		if v.Kind == "serial" {
			card = dongleSummary(v)
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
