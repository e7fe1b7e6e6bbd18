package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"posagent/money"
	"regexp"
	"strconv"
	"strings"
	"time"

	"posagent/emv"
	firmwareprofiles "posagent/firmware-profiles"
	"posagent/reader"
	"posagent/reader/pcsc"
	"posagent/reader/serial"
	"posagent/reader/trace"
)

// tapTimings are the phases of one tap, in milliseconds.
type tapTimings struct {
	WaitMS  float64 `json:"wait_ms"`  // from start until a card was seen
	CardMS  float64 `json:"card_ms"`  // connect and kernel: the card in the field
	TotalMS float64 `json:"total_ms"` //
}

// tapReport is what `posagent tap --json` prints: the fields of
// `trace replay` plus the reader and the timings.
type tapReport struct {
	emv.Report
	Reader  string     `json:"reader"`
	Profile string     `json:"profile"`
	Timings tapTimings `json:"timings"`
}

// runTap waits for a card on a real reader, runs the contactless kernel and
// prints the outcome.
func runTap(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("posagent tap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	amountText := fs.String("amount", "", "amount in major units, e.g. 12.34 (required)")
	currency := fs.Uint("currency", 0, "ISO 4217 numeric currency code (default: the terminal config's, 978)")
	readerPat := fs.String("reader", "", "reader-name pattern (case-insensitive regexp), or serial:PATH for a dongle; default: every contactless PC/SC reader")
	dongleProfile := fs.String("dongle-profile", "", "with --reader serial:PATH: dongle profile ID (default: the fallback dongle profile)")
	testKeys := fs.Bool("test-keys", false, "accept scheme test CA keys and software-card keys (never for live money)")
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	record := fs.String("record", "", "write the card session to this .trace file (PAN and track data masked)")
	unmasked := fs.Bool("unmasked", false, "with --record: keep PAN, track data and cryptograms in clear (card data at rest: test benches only)")
	configPath := fs.String("config", "", "terminal configuration (JSON); default: embedded")
	profDir := fs.String("profiles", "", "directory of reader profiles overriding the embedded ones")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for a card")
	verbose := fs.Bool("v", false, "log reader events to stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: posagent tap --amount 12.34 [--currency 978] [--reader PATTERN] [--test-keys] [--json] [--record FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "posagent tap: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if *amountText == "" {
		return usage("--amount is required")
	}
	if *unmasked && *record == "" {
		return usage("--unmasked only applies to --record")
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "posagent tap: %v\n", err)
		return 1
	}

	cfg := emv.DefaultConfig()
	if *configPath != "" {
		var err error
		if cfg, err = emv.LoadConfig(*configPath); err != nil {
			return fail(err)
		}
	}
	cur := cfg.CurrencyCode
	if *currency != 0 {
		if *currency > 999 {
			return usage("--currency %d is not an ISO 4217 numeric code", *currency)
		}
		cur = uint16(*currency)
	}
	mc, err := money.Numeric(cur)
	if err != nil {
		return usage("--currency: %v", err)
	}
	amount, err := mc.ParseAmount(*amountText)
	if err != nil {
		return usage("--amount: %v", err)
	}
	var match *regexp.Regexp
	if _, dongle := serialReaderPath(*readerPat); *readerPat != "" && !dongle {
		if match, err = regexp.Compile("(?i)" + *readerPat); err != nil {
			return usage("--reader: %v", err)
		}
	}
	profiles, err := loadProfiles(*profDir)
	if err != nil {
		return fail(err)
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if !*asJSON {
		fmt.Fprintf(stderr, "present card (%s)...\n", mc.Format(amount))
	}
	var tr *tapReader
	if dev, ok := serialReaderPath(*readerPat); ok {
		tr, err = waitSerialCard(ctx, wctx, dev, *dongleProfile, *profDir, log)
	} else {
		tr, err = waitPCSCCard(ctx, wctx, profiles, match, *timeout, log)
	}
	if err != nil {
		return fail(err)
	}
	defer tr.close()
	seen := time.Now()
	card, signal := tr.card, tr.signal
	signal(firmwareprofiles.SignalPresent)

	term := &emv.Terminal{Config: cfg, TestKeys: *testKeys || cfg.TestKeys}
	tx := emv.Transaction{Amount: amount, Currency: cur, Date: seen}
	var kcard emv.Card = card
	if *unmasked {
		fmt.Fprintf(stderr, "posagent tap: warning: %s will hold the card's data in clear\n", *record)
	}
	rec, err := newTapRecorder(*record, *unmasked, card, []trace.Meta{
		{Key: "source", Value: "posagent tap"},
		{Key: "interface", Value: "contactless"},
		{Key: "reader", Value: tr.reader},
		{Key: "profile", Value: tr.profile},
		{Key: "date", Value: seen.UTC().Format(time.RFC3339)},
		{Key: "amount", Value: strconv.FormatInt(amount, 10)},
		{Key: "currency", Value: strconv.FormatUint(uint64(cur), 10)},
	})
	if err != nil {
		return fail(err)
	}
	if rec != nil {
		kcard = rec
	}
	res, runErr := term.Run(ctx, kcard, tx)
	done := time.Now()
	if rec != nil {
		if err := rec.save(res); err != nil {
			return fail(err)
		}
	}
	if runErr != nil {
		signal(firmwareprofiles.SignalFailure)
		if errors.Is(runErr, pcsc.ErrCardRemoved) || errors.Is(runErr, serial.ErrCardLost) || errors.Is(runErr, serial.ErrLinkDown) {
			return fail(fmt.Errorf("card removed during the transaction: no outcome (%v)", runErr))
		}
		return fail(fmt.Errorf("no outcome: %w", runErr))
	}
	switch res.Outcome {
	case emv.Approved, emv.OnlineRequest:
		signal(firmwareprofiles.SignalSuccess)
	default:
		signal(firmwareprofiles.SignalFailure)
	}

	rep := tapReport{Report: res.Report(), Reader: tr.reader, Profile: tr.profile, Timings: tapTimings{
		WaitMS:  ms(seen.Sub(start)),
		CardMS:  ms(done.Sub(seen)),
		TotalMS: ms(done.Sub(start)),
	}}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fail(err)
		}
		return 0
	}
	printTap(stdout, rep, amount, mc)
	return 0
}

// tapReader is the card a tap runs on, whichever reader found it.
type tapReader struct {
	card    reader.Card
	reader  string // reader name
	profile string // profile ID
	signal  func(firmwareprofiles.Signal)
	close   func()
}

// waitPCSCCard waits (wctx) for a card on a PC/SC reader matching match (or
// any contactless one) and connects to it (ctx).
func waitPCSCCard(ctx, wctx context.Context, profiles *firmwareprofiles.Set, match *regexp.Regexp, timeout time.Duration, log *slog.Logger) (*tapReader, error) {
	pc, err := pcsc.Open(pcsc.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	st, err := pc.WaitCard(wctx, func(name string) bool {
		if match != nil {
			return match.MatchString(name)
		}
		return profiles.Match(name).Contactless
	})
	if err != nil {
		defer pc.Close()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("no card within %v%s", timeout, ignoredReaders(pc, profiles, match))
		}
		return nil, err
	}
	prof := profiles.Match(st.Reader)
	log.Debug("card seen", "reader", st.Reader, "profile", prof.ID)

	card, err := pc.Connect(ctx, st.Reader, pcsc.ConnectOptions{Contactless: prof.Contactless, MaxAPDU: prof.MaxAPDU})
	if err != nil {
		pc.Close()
		return nil, err
	}
	return &tapReader{card: card, reader: st.Reader, profile: prof.ID,
		signal: func(s firmwareprofiles.Signal) {
			if err := prof.Signal(ctx, card, s); err != nil && !errors.Is(err, firmwareprofiles.ErrNoSignal) {
				log.Warn("reader signal failed", "signal", s, "err", err)
			}
		},
		close: func() { card.Close(); pc.Close() }}, nil
}

// ignoredReaders names the readers a tap without --reader skipped because
// their profile is not contactless, as a hint for the timeout message.
func ignoredReaders(pc *pcsc.Context, profiles *firmwareprofiles.Set, match *regexp.Regexp) string {
	if match != nil {
		return ""
	}
	names, err := pc.ListReaders()
	if err != nil {
		return ""
	}
	var skipped []string
	for _, n := range names {
		if !profiles.Match(n).Contactless {
			skipped = append(skipped, fmt.Sprintf("%q", n))
		}
	}
	if len(skipped) == 0 {
		return ""
	}
	return fmt.Sprintf(" (readers without a contactless profile are skipped unless named with --reader: %s)", strings.Join(skipped, ", "))
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

func printTap(w io.Writer, r tapReport, amount int64, cur money.Currency) {
	fmt.Fprintf(w, "outcome   %s\n", r.Outcome)
	fmt.Fprintf(w, "amount    %s (currency %03d)\n", cur.Format(amount), cur.NumericCode())
	fmt.Fprintf(w, "reader    %s (%s)\n", r.Reader, r.Profile)
	line := func(k string, v any) {
		b, _ := json.Marshal(v)
		if s := string(b); s != "null" && s != `""` {
			fmt.Fprintf(w, "%-9s %s\n", k, strings.Trim(s, `"`))
		}
	}
	line("scheme", r.Scheme)
	line("kernel", r.Kernel)
	line("aid", r.AID)
	line("label", r.Label)
	line("pan", r.PAN)
	line("expiry", r.Expiry)
	if r.ODA != nil {
		fmt.Fprintf(w, "oda       %s %s\n", r.ODA.Method, r.ODA.Result)
	}
	line("cvm", r.CVM)
	line("cryptogram", r.Cryptogram)
	if r.Reason != "" {
		fmt.Fprintf(w, "reason    %s\n", r.Reason)
	}
	fmt.Fprintf(w, "commands  %d\n", r.Commands)
	fmt.Fprintf(w, "timings   wait %.2f ms, card %.2f ms, total %.2f ms\n", r.Timings.WaitMS, r.Timings.CardMS, r.Timings.TotalMS)
}

// tapRecorder records the card session for --record.
type tapRecorder struct {
	*trace.Recorder
	path string
}

// newTapRecorder wraps card when path is set. The file is created at once so
// that a bad path fails before the card is read.
func newTapRecorder(path string, unmasked bool, card reader.Card, meta []trace.Meta) (*tapRecorder, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	return &tapRecorder{Recorder: trace.NewRecorder(card, trace.RecordOptions{Unmasked: unmasked, Meta: meta}), path: path}, nil
}

// save writes the recording (masked unless asked otherwise), with the scheme when the kernel found
// one.
func (r *tapRecorder) save(res *emv.Result) error {
	t := r.Trace()
	if res != nil && res.Scheme != "" {
		t.Meta = append(t.Meta, trace.Meta{Key: "scheme", Value: res.Scheme})
	}
	var b bytes.Buffer
	if _, err := t.WriteTo(&b); err != nil {
		return fmt.Errorf("--record: %w", err)
	}
	if err := os.WriteFile(r.path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("--record: %w", err)
	}
	return nil
}
