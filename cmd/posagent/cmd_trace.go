package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"posagent/emv"
	"posagent/emv/tlv"
	"posagent/reader"
	"posagent/reader/trace"
)

const traceUsage = `usage:
  posagent trace show [--unmasked] FILE
      print every exchange with its decoded TLV tree (PAN, track data, names
      and cryptograms masked unless --unmasked)
  posagent trace replay [--json] [--date YYYY-MM-DD] [--amount N] FILE
      run the kernel against the recording (all CA keys, live and test) and
      report the outcome and where the kernel departed from the recording
Recording is done by "posagent tap --record FILE".
`

// runTrace is "posagent trace": show or replay a .trace file. Exit codes:
// 0 done (whatever the replayed outcome), 1 unreadable trace or failed
// replay, 2 usage.
func runTrace(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, traceUsage)
		return 2
	}
	switch args[0] {
	case "show":
		return traceShow(args[1:], stdout, stderr)
	case "replay":
		return traceReplay(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, traceUsage)
		return 0
	case "record":
		fmt.Fprintln(stderr, `posagent trace record: use "posagent tap --record FILE"`)
		return 2
	}
	fmt.Fprintf(stderr, "posagent trace: unknown sub-command %q\n%s", args[0], traceUsage)
	return 2
}

// parseInterleaved parses flags that may come before or after the
// positional arguments, and returns the positional ones.
func traceParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// readTrace opens and parses one .trace file.
func readTraceFile(path string) (*trace.Trace, []byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	t, err := trace.Parse(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, err
	}
	return t, raw, nil
}

func traceShow(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("posagent trace show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	unmasked := fs.Bool("unmasked", false, "show PAN, track data, names and cryptograms in full")
	pos, err := traceParseArgs(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, "posagent trace show: want one FILE\n", traceUsage)
		return 2
	}
	t, _, err := readTraceFile(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "posagent trace show: %s: %v\n", pos[0], err)
		return 1
	}
	if !*unmasked {
		t = trace.Mask(t)
	}
	var b bytes.Buffer
	showTrace(&b, t, *unmasked)
	stdout.Write(b.Bytes())
	return 0
}

// showTrace prints metadata, comments and every exchange decoded.
func showTrace(w *bytes.Buffer, t *trace.Trace, unmasked bool) {
	for _, m := range t.Meta {
		fmt.Fprintf(w, "@ %s: %s\n", m.Key, m.Value)
	}
	for _, c := range t.Comments {
		fmt.Fprintf(w, "# %s\n", c)
	}
	fmt.Fprintf(w, "%d exchanges\n", len(t.Exchanges))
	for i, ex := range t.Exchanges {
		fmt.Fprintf(w, "\n[%d] line %d: %s\n", i+1, ex.Line, trace.Describe(ex.Command))
		for _, c := range ex.Comments {
			fmt.Fprintf(w, "  # %s\n", c)
		}
		if ex.Command == nil {
			fmt.Fprintln(w, "  > *")
		} else {
			fmt.Fprintf(w, "  > %s\n", traceSpacedHex(ex.Command))
			if c, err := reader.ParseCommand(ex.Command); err == nil && len(c.Data) > 0 && c.INS == 0xA8 {
				traceDumpTLV(w, c.Data, unmasked)
			}
		}
		fmt.Fprintf(w, "  < %s\n", traceSpacedHex(ex.Response))
		data, sw, _ := reader.SplitResponse(ex.Response)
		fmt.Fprintf(w, "    SW %04X %s\n", uint16(sw), traceSWMeaning(sw))
		if len(data) > 0 {
			traceDumpTLV(w, data, unmasked)
		}
	}
}

func traceDumpTLV(w *bytes.Buffer, data []byte, unmasked bool) {
	objs, err := tlv.Parse(data)
	if err != nil {
		fmt.Fprintf(w, "    (%d bytes, not BER-TLV: %v)\n", len(data), err)
		return
	}
	tlv.Dump(w, objs, tlv.DumpOptions{Unmasked: unmasked, Indent: "    "})
}

// swMeaning is the text in parentheses of reader.SW's error.
func traceSWMeaning(sw reader.SW) string {
	s := sw.Error()
	if i := strings.IndexByte(s, '('); i >= 0 {
		return s[i:]
	}
	return ""
}

func traceSpacedHex(b []byte) string {
	var sb strings.Builder
	for i, x := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%02X", x)
	}
	return sb.String()
}

// replayReport is the JSON printed by "trace replay --json": the kernel's
// report plus what the replay adds.
type replayReport struct {
	emv.Report
	// Sent is the number of commands the kernel sent (Report.Commands is
	// the number recorded in the trace).
	Sent int `json:"sent"`
	// Unused is the number of trailing recorded exchanges never reached.
	Unused int `json:"unused"`
	// Date is the transaction date the kernel used (YYYY-MM-DD) and
	// DateSource where it came from: "recorded commands" (9A in the
	// recorded GPO/GENERATE AC/INTERNAL AUTHENTICATE data), "--date",
	// "trace metadata" (@ date) or "today".
	Date       string `json:"date"`
	DateSource string `json:"date_source"`
}

func traceReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("posagent trace replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object")
	dateFlag := fs.String("date", "", "transaction date (YYYY-MM-DD or RFC 3339); default: the date in the recorded commands, else the trace's @ date, else now")
	amountFlag := fs.Int64("amount", -1, "amount in minor units when the recording has none; default: the trace's @ amount, else 100")
	pos, err := traceParseArgs(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, "posagent trace replay: want one FILE\n", traceUsage)
		return 2
	}
	t, raw, err := readTraceFile(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "posagent trace replay: %s: %v\n", pos[0], err)
		return 1
	}
	tx, now, source, err := replayTransaction(t, *dateFlag, *amountFlag)
	if err != nil {
		fmt.Fprintf(stderr, "posagent trace replay: %v\n", err)
		return 2
	}
	rp := trace.NewReplayer(t)
	cfg := emv.DefaultConfig()
	cfg.TestKeys = true // replay names the key that verified, live or test
	term := &emv.Terminal{Config: cfg, Rand: newTraceRand(raw), Now: now}
	res, err := term.Run(ctx, rp, tx)
	if err != nil || res == nil {
		fmt.Fprintf(stderr, "posagent trace replay: %s: kernel stopped: %v\n", pos[0], err)
		return 1
	}
	rep := replayReport{Report: res.Report(), Sent: rp.Sent(), Unused: rp.Unused(),
		Date: res.Date.Format("2006-01-02"), DateSource: source}
	if rd, ok := trace.RecordedDate(t); ok && rd.Format("2006-01-02") == rep.Date {
		// The kernel follows the recorded commands' date once it reaches them.
		rep.DateSource = "recorded commands"
	}
	rep.Commands = t.Commands()
	if d := rp.Divergence(); d != nil {
		rep.Divergence = d
	} else {
		rep.Divergence = nil
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "posagent trace replay: %v\n", err)
			return 1
		}
		return 0
	}
	printReplay(stdout, rep, rp.Divergence())
	return 0
}

// replayTransaction builds the transaction for a replay. Date: --date, else
// the date the terminal sent in the recorded commands (trace.RecordedDate),
// else the trace's "@ date", else now. Amount: --amount, else "@ amount",
// else 100. The kernel itself also takes date, amount and unpredictable
// number from the recorded commands as it reaches them.
func replayTransaction(t *trace.Trace, dateFlag string, amount int64) (tx emv.Transaction, now func() time.Time, source string, err error) {
	setDate := func(d time.Time, from string) {
		tx.Date, source = d, from
		now = func() time.Time { return d }
	}
	source = "today"
	switch rd, recorded := trace.RecordedDate(t); {
	case dateFlag != "":
		d, err := traceParseDate(dateFlag)
		if err != nil {
			return tx, nil, "", fmt.Errorf("--date %q: want YYYY-MM-DD or RFC 3339", dateFlag)
		}
		setDate(d, "--date")
	case recorded:
		setDate(rd, "recorded commands")
	case t.Get("date") != "":
		d, err := traceParseDate(t.Get("date"))
		if err != nil {
			return tx, nil, "", fmt.Errorf("trace metadata date %q: want YYYY-MM-DD or RFC 3339", t.Get("date"))
		}
		setDate(d, "trace metadata")
	}
	if amount < 0 {
		amount = 100
		if v := t.Get("amount"); v != "" {
			a, err := strconv.ParseInt(v, 10, 64)
			if err != nil || a < 0 {
				return tx, nil, "", fmt.Errorf("trace metadata amount %q: want minor units", v)
			}
			amount = a
		}
	}
	tx.Amount = amount
	if v := t.Get("currency"); v != "" {
		c, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return tx, nil, "", fmt.Errorf("trace metadata currency %q: want an ISO 4217 numeric code", v)
		}
		tx.Currency = uint16(c)
	}
	return tx, now, source, nil
}

func traceParseDate(s string) (time.Time, error) {
	if d, err := time.Parse(time.RFC3339, s); err == nil {
		return d, nil
	}
	return time.Parse("2006-01-02", s)
}

// traceRand is a deterministic byte stream (SHA-256 in counter mode over the
// trace): a replay of the same file sends the same commands every time.
// Only used where the recording has no unpredictable number to reuse.
type traceRand struct {
	seed [32]byte
	n    uint64
	buf  []byte
}

func newTraceRand(seed []byte) *traceRand { return &traceRand{seed: sha256.Sum256(seed)} }

func (d *traceRand) Read(p []byte) (int, error) {
	for i := range p {
		if len(d.buf) == 0 {
			var ctr [40]byte
			copy(ctr[:], d.seed[:])
			for k := 0; k < 8; k++ {
				ctr[32+k] = byte(d.n >> (8 * k))
			}
			d.n++
			sum := sha256.Sum256(ctr[:])
			d.buf = sum[:]
		}
		p[i] = d.buf[0]
		d.buf = d.buf[1:]
	}
	return len(p), nil
}

func printReplay(w io.Writer, rep replayReport, div []trace.Divergence) {
	str := func(b []byte, err error) string {
		if err != nil {
			return "?"
		}
		return strings.Trim(string(b), `"`)
	}
	field := func(name string, v any) {
		b, err := json.Marshal(v)
		fmt.Fprintf(w, "%-9s %s\n", name+":", str(b, err))
	}
	field("outcome", rep.Outcome)
	fmt.Fprintf(w, "%-9s %s (%s)\n", "date:", rep.Date, rep.DateSource)
	if rep.Reason != "" {
		field("reason", rep.Reason)
	}
	field("kernel", rep.Kernel)
	field("aid", rep.AID)
	field("label", rep.Label)
	field("scheme", rep.Scheme)
	field("pan", rep.PAN)
	field("expiry", rep.Expiry)
	if rep.ODA == nil {
		fmt.Fprintf(w, "%-9s %s\n", "oda:", "null (no AIP)")
	} else {
		fmt.Fprintf(w, "%-9s %s %s", "oda:", rep.ODA.Method, rep.ODA.Result)
		if rep.ODA.CAKey != "" {
			fmt.Fprintf(w, " (CA key %s)", rep.ODA.CAKey)
		}
		if rep.ODA.Reason != "" {
			fmt.Fprintf(w, ": %s", rep.ODA.Reason)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-9s %d recorded, %d sent by the kernel, %d trailing unused\n", "commands:", rep.Commands, rep.Sent, rep.Unused)
	if len(div) == 0 {
		fmt.Fprintln(w, "the kernel followed the recording")
		return
	}
	fmt.Fprintf(w, "divergence (%d):\n", len(div))
	for _, d := range div {
		where := "unrecorded"
		if d.Exchange >= 0 {
			where = fmt.Sprintf("exchange %d", d.Exchange+1)
		}
		fmt.Fprintf(w, "  %-12s %s: %s\n", where, d.Command, d.Reason)
	}
}
