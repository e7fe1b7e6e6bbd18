package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"posagent/money"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"posagent/offline"
)

const queueUsage = `usage: posagent queue [--data DIR] COMMAND [flags]

Inspect and manage the store-and-forward queue (DIR/queue.db). The agent
holds the file while it runs: stop it first (commands fail fast otherwise).

  ls [--all]                      queued entries (--all: also done and failed)
  stats                           counts per state and kind, outstanding amounts
  show ID                         one entry (the payload is never shown)
  export --json [--out FILE]      every entry as JSON, without payloads
  retry ID                        put a failed entry back in the queue
  purge --done-older-than D       delete done entries older than D (e.g. 720h, 30d)
  rekey                           rotate the payload encryption key
  compact                         rewrite the file without free space
  check                           verify the file's consistency

--data defaults to $POSAGENT_DATA, else ./posagent-data.
`

// runQueue implements "posagent queue".
func runQueue(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	q := &queueCmd{stdout: stdout, stderr: stderr}
	fs := q.flags("posagent queue")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	args = fs.Args()
	if len(args) == 0 {
		fmt.Fprint(stderr, queueUsage)
		return 2
	}
	sub, rest := args[0], args[1:]
	run := map[string]func([]string) int{
		"ls": q.ls, "stats": q.stats, "show": q.show, "export": q.export, "retry": q.retry,
		"purge": q.purge, "rekey": q.rekey, "compact": q.compact, "check": q.check,
	}[sub]
	if run == nil {
		if sub == "help" {
			fmt.Fprint(stdout, queueUsage)
			return 0
		}
		fmt.Fprintf(stderr, "posagent queue: unknown command %q\n%s", sub, queueUsage)
		return 2
	}
	q.ctx = ctx
	return run(rest)
}

type queueCmd struct {
	ctx     context.Context
	stdout  io.Writer
	stderr  io.Writer
	data    string
	keyFile string
}

// flags returns a flag set carrying the common flags, so that --data may
// come before or after the sub-command.
func (q *queueCmd) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(q.stderr)
	def := os.Getenv("POSAGENT_DATA")
	if def == "" {
		def = "posagent-data"
	}
	if q.data != "" {
		def = q.data
	}
	fs.StringVar(&q.data, "data", def, "data directory")
	fs.StringVar(&q.keyFile, "key-file", q.keyFile, "payload key file (default DIR/"+offline.KeyFileName+")")
	fs.Usage = func() { fmt.Fprint(q.stderr, queueUsage) }
	return fs
}

func (q *queueCmd) parse(name string, args []string, fs *flag.FlagSet, nargs int) ([]string, bool) {
	if err := fs.Parse(args); err != nil {
		return nil, false
	}
	if fs.NArg() != nargs {
		fmt.Fprintf(q.stderr, "posagent queue %s: want %d argument(s), got %d\n", name, nargs, fs.NArg())
		return nil, false
	}
	return fs.Args(), true
}

func (q *queueCmd) path() string { return filepath.Join(q.data, offline.DBFileName) }

func (q *queueCmd) open(write bool) (*offline.Store, bool) {
	if _, err := os.Stat(q.path()); err != nil {
		fmt.Fprintf(q.stderr, "posagent queue: no queue at %s (set --data or $POSAGENT_DATA): %v\n", q.path(), err)
		return nil, false
	}
	s, err := offline.Open(q.path(), offline.Options{KeyFile: q.keyFile, ReadOnly: !write, OpenTimeout: 500 * time.Millisecond})
	if err != nil {
		fmt.Fprintf(q.stderr, "posagent queue: %v\n", err)
		return nil, false
	}
	return s, true
}

func (q *queueCmd) fail(err error) int {
	fmt.Fprintf(q.stderr, "posagent queue: %v\n", err)
	return 1
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// fmtAmount writes minor units in the entry's currency ("12.34 EUR",
// "1234 JPY"); an unknown code is shown as minor units with the code.
func fmtAmount(amount int64, currency string) string {
	c, err := money.Parse(currency)
	if err != nil {
		return fmt.Sprintf("%d (minor units) %s", amount, currency)
	}
	return c.Format(amount)
}

func (q *queueCmd) ls(args []string) int {
	fs := q.flags("posagent queue ls")
	all := fs.Bool("all", false, "also list done and failed entries")
	if _, ok := q.parse("ls", args, fs, 0); !ok {
		return 2
	}
	s, ok := q.open(false)
	if !ok {
		return 1
	}
	defer s.Close()
	tw := tabwriter.NewWriter(q.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tAMOUNT\tCREATED\tATTEMPTS\tNEXT ATTEMPT\tREASON")
	n := 0
	err := s.Scan(func(e offline.Entry) error {
		if !*all && (e.State == offline.StateDone || e.State == offline.StateFailed) {
			return nil
		}
		n++
		state := string(e.State)
		if e.Repeat && e.State == offline.StatePending {
			state += " (repeat)"
		}
		if e.Declined {
			state += " (declined)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.ID, e.Kind, state, fmtAmount(e.Amount, e.Currency),
			fmtTime(e.Created), e.Attempts, fmtTime(e.NextAttempt), offline.MaskDigits(e.Reason))
		return nil
	})
	tw.Flush()
	if err != nil {
		return q.fail(err)
	}
	fmt.Fprintf(q.stdout, "%d entries\n", n)
	return 0
}

func (q *queueCmd) stats(args []string) int {
	fs := q.flags("posagent queue stats")
	if _, ok := q.parse("stats", args, fs, 0); !ok {
		return 2
	}
	s, ok := q.open(false)
	if !ok {
		return 1
	}
	defer s.Close()
	st, err := s.Stats()
	if err != nil {
		return q.fail(err)
	}
	w := q.stdout
	fmt.Fprintf(w, "file:     %s (%d bytes)\n", q.path(), st.FileSize)
	fmt.Fprintf(w, "key:      %s\n", orDash(st.KeyID))
	for _, state := range []offline.State{offline.StateHeld, offline.StatePending, offline.StateInFlight, offline.StateDone, offline.StateFailed} {
		fmt.Fprintf(w, "%-10s%d\n", string(state)+":", st.ByState[state])
	}
	fmt.Fprintf(w, "advices:  %d\nreversals: %d\n", st.ByKind[offline.KindAdvice], st.ByKind[offline.KindReversal])
	fmt.Fprintf(w, "oldest queued: %s\n", fmtTime(st.OldestPending))
	curs := make([]string, 0, len(st.Outstanding))
	for c := range st.Outstanding {
		curs = append(curs, c)
	}
	sort.Strings(curs)
	for _, c := range curs {
		o := st.Outstanding[c]
		fmt.Fprintf(w, "outstanding offline approvals %s: %d, %s\n", c, o.Count, fmtAmount(o.Amount, c))
	}
	return 0
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (q *queueCmd) show(args []string) int {
	fs := q.flags("posagent queue show")
	rest, ok := q.parse("show", args, fs, 1)
	if !ok {
		return 2
	}
	s, ok := q.open(false)
	if !ok {
		return 1
	}
	defer s.Close()
	var found *offline.Entry
	err := s.Scan(func(e offline.Entry) error {
		if e.ID == rest[0] {
			found = &e
		}
		return nil
	})
	if err != nil {
		return q.fail(err)
	}
	if found == nil {
		return q.fail(fmt.Errorf("%w: %s", offline.ErrNotFound, rest[0]))
	}
	e := found
	w := q.stdout
	fmt.Fprintf(w, "id:           %s\nkind:         %s\nstate:        %s\n", e.ID, e.Kind, e.State)
	fmt.Fprintf(w, "amount:       %s\n", fmtAmount(e.Amount, e.Currency))
	fmt.Fprintf(w, "created:      %s\nattempts:     %d\nnext attempt: %s\n", fmtTime(e.Created), e.Attempts, fmtTime(e.NextAttempt))
	fmt.Fprintf(w, "repeat:       %v\ndeclined:     %v\nfinished:     %s\n", e.Repeat, e.Declined, fmtTime(e.Finished))
	if e.Reason != "" {
		fmt.Fprintf(w, "reason:       %s\n", offline.MaskDigits(e.Reason))
	}
	fmt.Fprintf(w, "card velocity key: %v\n", len(e.CardKey) > 0)
	fmt.Fprintf(w, "payload:      encrypted with key %s (never shown)\n", orDash(e.KeyID))
	return 0
}

func (q *queueCmd) export(args []string) int {
	fs := q.flags("posagent queue export")
	asJSON := fs.Bool("json", false, "JSON output (the only format)")
	out := fs.String("out", "", "write to FILE instead of standard output")
	if _, ok := q.parse("export", args, fs, 0); !ok {
		return 2
	}
	if !*asJSON {
		fmt.Fprintln(q.stderr, "posagent queue export: --json is required (the only format)")
		return 2
	}
	s, ok := q.open(false)
	if !ok {
		return 1
	}
	defer s.Close()
	st, err := s.Stats()
	if err != nil {
		return q.fail(err)
	}
	total := 0
	for _, n := range st.ByState {
		total += n
	}
	w := q.stdout
	var f *os.File
	if *out != "" {
		if f, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return q.fail(err)
		}
		defer f.Close()
		w = f
	}
	enc := json.NewEncoder(w)
	n := 0
	start := time.Now()
	last := start
	if _, err := io.WriteString(w, "[\n"); err != nil {
		return q.fail(err)
	}
	err = s.Scan(func(e offline.Entry) error {
		if err := q.ctx.Err(); err != nil {
			return err
		}
		if n > 0 {
			if _, err := io.WriteString(w, ","); err != nil {
				return err
			}
		}
		n++
		if err := enc.Encode(e); err != nil { // Entry's JSON holds no payload or card key
			return err
		}
		if total >= 1000 && (n%1000 == 0 || time.Since(last) > time.Second) {
			last = time.Now()
			fmt.Fprintf(q.stderr, "exported %d/%d (%d%%)\n", n, total, n*100/total)
		}
		return nil
	})
	if err == nil {
		_, err = io.WriteString(w, "]\n")
	}
	if err == nil && f != nil {
		err = f.Sync()
	}
	if err != nil {
		return q.fail(err)
	}
	if total >= 1000 || *out != "" {
		fmt.Fprintf(q.stderr, "exported %d entries in %v\n", n, time.Since(start).Round(time.Millisecond))
	}
	return 0
}

func (q *queueCmd) retry(args []string) int {
	fs := q.flags("posagent queue retry")
	rest, ok := q.parse("retry", args, fs, 1)
	if !ok {
		return 2
	}
	s, ok := q.open(true)
	if !ok {
		return 1
	}
	defer s.Close()
	if err := s.Retry(rest[0]); err != nil {
		return q.fail(err)
	}
	fmt.Fprintf(q.stdout, "%s queued for sending\n", rest[0])
	return 0
}

// parseAge accepts Go durations plus a "d" (days) suffix.
func parseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q (e.g. 720h or 30d)", s)
	}
	return d, nil
}

func (q *queueCmd) purge(args []string) int {
	fs := q.flags("posagent queue purge")
	older := fs.String("done-older-than", "", "delete done entries finished longer ago than this (e.g. 720h, 30d)")
	if _, ok := q.parse("purge", args, fs, 0); !ok {
		return 2
	}
	if *older == "" {
		fmt.Fprintln(q.stderr, "posagent queue purge: --done-older-than is required")
		return 2
	}
	age, err := parseAge(*older)
	if err != nil {
		fmt.Fprintf(q.stderr, "posagent queue purge: %v\n", err)
		return 2
	}
	s, ok := q.open(true)
	if !ok {
		return 1
	}
	defer s.Close()
	n, err := s.Purge(time.Now().Add(-age))
	if err != nil {
		return q.fail(err)
	}
	fmt.Fprintf(q.stdout, "purged %d done entries\n", n)
	return 0
}

func (q *queueCmd) rekey(args []string) int {
	fs := q.flags("posagent queue rekey")
	if _, ok := q.parse("rekey", args, fs, 0); !ok {
		return 2
	}
	s, ok := q.open(true)
	if !ok {
		return 1
	}
	defer s.Close()
	id, n, err := s.Rekey(func(done, total int) {
		if total >= 1000 {
			fmt.Fprintf(q.stderr, "re-encrypted %d/%d\n", done, total)
		}
	})
	if err != nil {
		return q.fail(err)
	}
	fmt.Fprintf(q.stdout, "payload key rotated to %s; %d entries re-encrypted\n", id, n)
	return 0
}

func (q *queueCmd) compact(args []string) int {
	fs := q.flags("posagent queue compact")
	if _, ok := q.parse("compact", args, fs, 0); !ok {
		return 2
	}
	if _, err := os.Stat(q.path()); err != nil {
		return q.fail(err)
	}
	before, after, err := offline.Compact(q.path(), offline.Options{OpenTimeout: 500 * time.Millisecond})
	if err != nil {
		return q.fail(err)
	}
	fmt.Fprintf(q.stdout, "compacted %s: %d -> %d bytes\n", q.path(), before, after)
	return 0
}

func (q *queueCmd) check(args []string) int {
	fs := q.flags("posagent queue check")
	if _, ok := q.parse("check", args, fs, 0); !ok {
		return 2
	}
	s, ok := q.open(false) // Open runs the full check
	if !ok {
		return 1
	}
	defer s.Close()
	fmt.Fprintf(q.stdout, "%s: ok\n", q.path())
	return 0
}
