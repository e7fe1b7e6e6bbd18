package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"posagent/agent"
	pcscinput "posagent/agent/input/pcsc"
	"posagent/emv"
	firmwareprofiles "posagent/firmware-profiles"
	"posagent/money"
	"posagent/offline"
	"posagent/reader"
	"posagent/reader/pcsc"
	"posagent/reader/trace"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

// tapTimings are the phases of one tap, in milliseconds.
type tapTimings struct {
	WaitMS  float64 `json:"wait_ms"`  // from start until a card was seen
	CardMS  float64 `json:"card_ms"`  // connect and kernel: the card in the field
	TotalMS float64 `json:"total_ms"` //
}

// tapPayment is the engine's result as `posagent tap --json` prints it.
type tapPayment struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Reason   string `json:"reason,omitempty"`
	Message  string `json:"message,omitempty"`
	AuthCode string `json:"auth_code,omitempty"`
	Response string `json:"response_code,omitempty"`
}

// tapReport is what `posagent tap --json` prints: the fields of
// `trace replay` plus the reader, the timings and the payment.
type tapReport struct {
	emv.Report
	Reader  string     `json:"reader"`
	Profile string     `json:"profile"`
	Timings tapTimings `json:"timings"`
	Payment tapPayment `json:"payment"`
}

// tapObserver keeps what the engine reports of the tap.
type tapObserver struct {
	mu   sync.Mutex
	rep  *emv.Report
	card time.Duration
	at   time.Time
}

func (o *tapObserver) Tap(input string, d time.Duration, rep emv.Report) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rep, o.card, o.at = &rep, d, time.Now()
}
func (o *tapObserver) Online(time.Duration, string) {}
func (o *tapObserver) Final(agent.Payment)          {}
func (o *tapObserver) Uplink(bool)                  {}

// runTap waits for a card on a real reader and runs one payment through
// the engine (package agent): the kernel, then online when an acquirer is
// given, else the offline decision or a decline.
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
	acquirer := fs.String("acquirer", "", "acquirer host:port (ISO 8583 over mutual TLS); default: none (offline decision or decline)")
	tlsDir := fs.String("tls", "", "with --acquirer: directory with ca.pem, client.pem, client.key (as acqsim init-certs writes)")
	dataDir := fs.String("data", "", "data directory for payments and the store-and-forward queue; default: a temporary one, and then nothing is approved offline")
	verbose := fs.Bool("v", false, "log reader events to stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: posagent tap --amount 12.34 [--currency 978] [--reader PATTERN] [--test-keys] [--json] [--record FILE] [--acquirer HOST:PORT --tls DIR] [--data DIR]")
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
	if (*acquirer == "") != (*tlsDir == "") {
		return usage("--acquirer and --tls go together")
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
	dongle, isDongle := serialReaderPath(*readerPat)
	if *readerPat != "" && !isDongle {
		if match, err = regexp.Compile("(?i)" + *readerPat); err != nil {
			return usage("--reader: %v", err)
		}
	}
	curAlpha := mc.Code()
	profiles, err := loadProfiles(*profDir)
	if err != nil {
		return fail(err)
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	start := time.Now()
	if *unmasked {
		fmt.Fprintf(stderr, "posagent tap: warning: %s will hold the card's data in clear\n", *record)
	}
	var rec *tapRecorder
	var recErr error
	if *record != "" {
		// Fail on a bad path before any card is read.
		if rec, err = newTapRecorder(*record, *unmasked, nil, nil); err != nil {
			return fail(err)
		}
	}
	var seenReader, seenProfile string
	wrap := func(name, profile string, card reader.Card) emv.Card {
		seenReader, seenProfile = name, profile
		if rec == nil {
			return card
		}
		rec, recErr = newTapRecorder(*record, *unmasked, card, []trace.Meta{
			{Key: "source", Value: "posagent tap"},
			{Key: "interface", Value: "contactless"},
			{Key: "reader", Value: name},
			{Key: "profile", Value: profile},
			{Key: "date", Value: time.Now().UTC().Format(time.RFC3339)},
			{Key: "amount", Value: strconv.FormatInt(amount, 10)},
			{Key: "currency", Value: strconv.FormatUint(uint64(cur), 10)},
		})
		return rec
	}
	var in agent.Reader
	var pc *pcsc.Context
	if isDongle {
		d, err := newDongle(dongle, *dongleProfile, *profDir, log)
		if err != nil {
			return fail(err)
		}
		defer d.Close()
		in = serialTapInput(d, wrap, log)
	} else {
		if pc, err = pcsc.Open(pcsc.Options{Logger: log}); err != nil {
			return fail(err)
		}
		defer pc.Close()
		if in, err = pcscinput.New(pc, pcscinput.Options{Match: match, Profiles: profiles, Logger: log,
			Wrap: func(name string, card *pcsc.Card) emv.Card { return wrap(name, profiles.Match(name).ID, card) }}); err != nil {
			return fail(err)
		}
	}

	dir := *dataDir
	policy := agent.OfflineAllow
	if dir == "" {
		if dir, err = os.MkdirTemp("", "posagent-tap-"); err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
		// Nothing could forward an advice kept in a temporary file.
		policy = agent.OfflineDeny
	}
	cfg.TestKeys = cfg.TestKeys || *testKeys
	obs := &tapObserver{}
	ecfg := agent.Config{DataFile: filepath.Join(dir, offline.DBFileName), Terminal: &cfg,
		Readers: []agent.Reader{in}, Offline: policy,
		CardTimeout: *timeout, Retries: 1, Observer: obs, Logger: log}
	if *acquirer != "" {
		tcfg, err := acqsim.ClientTLSFiles(*tlsDir).Load()
		if err != nil {
			return fail(err)
		}
		ecfg.Acquirer = &uplink.Config{Addr: *acquirer, TLS: tcfg}
	}
	eng, err := agent.Open(ecfg)
	if err != nil {
		return fail(err)
	}
	defer eng.Close(context.Background())
	if *acquirer != "" {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		for !eng.Status().Uplink.Up && wctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}
	if !*asJSON {
		fmt.Fprintf(stderr, "present card (%s)...\n", mc.Format(amount))
	}
	id := "tap-" + time.Now().UTC().Format("20060102T150405.000000")
	id = strings.ReplaceAll(id, ".", "-")
	p, err := eng.Start(ctx, agent.PaymentRequest{ID: id, Amount: amount, Currency: curAlpha, Reference: "posagent tap"})
	if err != nil {
		return fail(err)
	}
	// ^C aborts the payment (reversed if its request had left).
	stopAbort := context.AfterFunc(ctx, func() { eng.Abort(context.Background(), id) })
	p, err = eng.Wait(context.Background(), id)
	stopAbort()
	if err != nil {
		return fail(err)
	}
	if recErr != nil {
		return fail(recErr)
	}
	obs.mu.Lock()
	rep, card, at := obs.rep, obs.card, obs.at
	obs.mu.Unlock()
	if rec != nil && seenReader != "" {
		scheme := ""
		if rep != nil {
			scheme = rep.Scheme
		}
		if err := rec.saveScheme(scheme); err != nil {
			return fail(err)
		}
	}
	if rep == nil {
		switch {
		case p.Reason == agent.ReasonTimeout:
			if pc == nil {
				return fail(fmt.Errorf("no card on %s within %v", in.Name(), *timeout))
			}
			return fail(fmt.Errorf("no card within %v%s", *timeout, ignoredReaders(pc, profiles, match)))
		case p.Reason == agent.ReasonCardError:
			return fail(fmt.Errorf("card removed during the transaction: no outcome (%s)", p.Message))
		}
		return fail(fmt.Errorf("no outcome: payment %s %s: %s", p.State, p.Reason, p.Message))
	}
	wait := at.Sub(start) - card
	out := tapReport{Report: *rep, Reader: seenReader, Profile: seenProfile, Timings: tapTimings{
		WaitMS:  ms(wait),
		CardMS:  ms(card),
		TotalMS: ms(at.Sub(start)),
	}, Payment: tapPayment{ID: p.ID, State: string(p.State), Reason: p.Reason, Message: p.Message,
		AuthCode: p.AuthCode, Response: p.Response}}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fail(err)
		}
		return 0
	}
	printTap(stdout, out, amount, mc)
	return 0
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
	pay := r.Payment.State
	if r.Payment.Reason != "" {
		pay += " (" + r.Payment.Reason + ")"
	}
	fmt.Fprintf(w, "payment   %s %s\n", r.Payment.ID, pay)
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
	r := &tapRecorder{path: path}
	if card != nil {
		r.Recorder = trace.NewRecorder(card, trace.RecordOptions{Unmasked: unmasked, Meta: meta})
	}
	return r, nil
}

// saveScheme writes the recording (masked unless asked otherwise), with
// the scheme when the kernel found one.
func (r *tapRecorder) saveScheme(scheme string) error {
	if r.Recorder == nil {
		return nil
	}
	t := r.Trace()
	if scheme != "" {
		t.Meta = append(t.Meta, trace.Meta{Key: "scheme", Value: scheme})
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
