package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"posagent/agent/config"
	"posagent/agent/qrdisplay"
	"posagent/qr"
	"posagent/qr/render"
	"posagent/qr/scan"
)

const qrUsage = `usage:
  posagent qr parse [--strict] [--json] PAYLOAD|-
      classify and decode a scanned payment code (EMVCo MPM/CPM, WeChat Pay,
      Alipay, UnionPay) and print one JSON object: format, valid, crc_ok,
      errors, warnings, fields (card data masked). "-" reads stdin. --strict
      makes EMVCo rule warnings errors. Exit 1 when not valid.
  posagent qr show --amount 12.34 [--currency EUR] [--reference REF]
                   [--terminal ID] [--png FILE] [--svg FILE] [--size PX]
                   [--merchant-name NAME] [--city CITY] [--country CC]
                   [--mcc NNNN] [--account GUID:MERCHANTID] [--quiet]
                   [--config FILE [--guid GUID]]
      build the merchant-presented dynamic code of one payment, print its
      payload and draw it on the terminal; write PNG/SVG files if asked.
  posagent qr decode [--json] [--budget 200ms] [--unmasked] FILE...
      decode QR codes in image files (PNG, JPEG, GIF): one line per file,
      with --json an object {file, ok, text, format, ms, error}. CPM
      payloads and wallet codes are masked unless --unmasked. Exit 1 when a
      file has no readable code.
  posagent qr scan (--camera DEV | --serial PATH | --dir DIR | --url URL | --stdin)
                   [--json] [--window 3s] [--count N] [--baud 9600] [--eol cr|lf|crlf]
      print codes as they are seen (the same code once per window) until
      interrupted, the source ends, or N codes were seen.
`

// runQR is "posagent qr". Exit codes: 0 done, 1 invalid or failed input,
// 2 usage.
func runQR(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, qrUsage)
		return 2
	}
	switch args[0] {
	case "parse":
		return qrParse(args[1:], os.Stdin, stdout, stderr)
	case "show":
		return qrShow(args[1:], stdout, stderr)
	case "decode":
		return qrDecode(args[1:], stdout, stderr)
	case "scan":
		return qrScan(ctx, args[1:], os.Stdin, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, qrUsage)
		return 0
	}
	fmt.Fprintf(stderr, "posagent qr: unknown sub-command %q\n%s", args[0], qrUsage)
	return 2
}

func qrParse(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qr parse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	strict := fs.Bool("strict", false, "EMVCo rule warnings are errors")
	asJSON := fs.Bool("json", false, "one JSON object on one line (default: indented)")
	pos, err := traceParseArgs(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, qrUsage)
		return 2
	}
	payload := pos[0]
	if payload == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
		if err != nil {
			fmt.Fprintf(stderr, "posagent qr parse: reading stdin: %v\n", err)
			return 1
		}
		payload = strings.TrimRight(string(b), "\r\n")
	}
	r := qr.Inspect(payload, qr.InspectOptions{Strict: *strict})
	e := json.NewEncoder(stdout)
	e.SetEscapeHTML(false)
	if !*asJSON {
		e.SetIndent("", "  ")
	}
	if err := e.Encode(r); err != nil {
		fmt.Fprintf(stderr, "posagent qr parse: %v\n", err)
		return 1
	}
	if !r.Valid {
		return 1
	}
	return 0
}

// demoMerchant is the merchant of "qr show" and the demo when no flags say
// otherwise: the acquirer simulator's GUID and merchant.
var demoMerchant = qr.Merchant{
	Accounts: []qr.Field{{ID: "26", Sub: []qr.Field{{ID: "00", Value: "com.posagent.acqsim"}, {ID: "01", Value: "MERCHANT0000001"}}}},
	MCC:      "5812", Country: "DE", Name: "POSAGENT DEMO SHOP", City: "BERLIN",
}

func qrShow(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qr show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	amount := fs.String("amount", "", "amount in major units, e.g. 12.34 (required)")
	cur := fs.String("currency", "EUR", "ISO 4217 alphabetic currency")
	ref := fs.String("reference", "", "reference label (62.05); default: a time-based one")
	term := fs.String("terminal", "TERM0001", "terminal label (62.07)")
	pngFile := fs.String("png", "", "write the code as PNG to FILE")
	svgFile := fs.String("svg", "", "write the code as SVG to FILE")
	size := fs.Int("size", render.DefaultSize, "PNG/SVG size in pixels")
	m := demoMerchant
	fs.StringVar(&m.Name, "merchant-name", m.Name, "merchant name (59)")
	fs.StringVar(&m.City, "city", m.City, "merchant city (60)")
	fs.StringVar(&m.Country, "country", m.Country, "country code (58)")
	fs.StringVar(&m.MCC, "mcc", m.MCC, "merchant category code (52)")
	account := fs.String("account", "", "merchant account 26 as GUID:MERCHANTID")
	quiet := fs.Bool("quiet", false, "print the payload only, no terminal drawing")
	cfgFile := fs.String("config", "", "take merchant name, MCC, merchant and terminal id, currency from this config (flags given override)")
	guid := fs.String("guid", "com.posagent.acqsim", "acquirer GUID in template 26 (with --config)")
	if _, err := traceParseArgs(fs, args); err != nil {
		return 2
	}
	if *cfgFile != "" {
		cfg, err := config.Load(*cfgFile)
		if err != nil {
			fmt.Fprintf(stderr, "posagent qr show: %v\n", err)
			return 1
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		base := qrdisplay.Merchant(cfg.Terminal, qrdisplay.QRSettings{GUID: *guid, City: m.City, Country: m.Country})
		if !set["merchant-name"] {
			m.Name = base.Name
		}
		if !set["mcc"] {
			m.MCC = base.MCC
		}
		m.Accounts = base.Accounts
		if !set["terminal"] {
			*term = cfg.Terminal.TerminalID
		}
		if !set["currency"] && cfg.Terminal.Currency != "" {
			*cur = cfg.Terminal.Currency
		}
	}
	if *amount == "" {
		fmt.Fprint(stderr, "posagent qr show: --amount is required\n"+qrUsage)
		return 2
	}
	minor, err := qr.ParseAmount(*amount, *cur)
	if err != nil {
		fmt.Fprintf(stderr, "posagent qr show: %v\n", err)
		return 2
	}
	if *account != "" {
		guid, id, ok := strings.Cut(*account, ":")
		if !ok || guid == "" || id == "" {
			fmt.Fprintln(stderr, "posagent qr show: --account wants GUID:MERCHANTID")
			return 2
		}
		m.Accounts = []qr.Field{{ID: "26", Sub: []qr.Field{{ID: "00", Value: guid}, {ID: "01", Value: id}}}}
	}
	if *ref == "" {
		*ref = "QR" + time.Now().UTC().Format("060102150405")
	}
	payload, err := qr.DynamicPayload(m, qr.Charge{Amount: minor, Currency: strings.ToUpper(*cur), Reference: *ref, Terminal: *term})
	if err != nil {
		fmt.Fprintf(stderr, "posagent qr show: %v\n", err)
		return 1
	}
	code, err := render.New(payload)
	if err != nil {
		fmt.Fprintf(stderr, "posagent qr show: %v\n", err)
		return 1
	}
	if *pngFile != "" {
		b, err := code.PNG(*size)
		if err == nil {
			err = os.WriteFile(*pngFile, b, 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "posagent qr show: %v\n", err)
			return 1
		}
	}
	if *svgFile != "" {
		var b strings.Builder
		code.SVG(&b, *size)
		if err := os.WriteFile(*svgFile, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintf(stderr, "posagent qr show: %v\n", err)
			return 1
		}
	}
	fmt.Fprintln(stdout, payload)
	if !*quiet {
		code.Terminal(stdout, false)
	}
	return 0
}

// shownText is a decoded text as the CLI prints it: card-bearing payloads
// (CPM) and wallet payment codes (bearer tokens) masked unless asked.
func shownText(text string, unmasked bool) (string, qr.Format) {
	f := qr.Classify(text)
	if unmasked {
		return text, f
	}
	switch {
	case f == qr.FormatCPM:
		return fmt.Sprintf("<emvco-cpm, %d characters hidden>", len(text)), f
	case f.Wallet():
		w, _ := qr.ParseWalletCode(text)
		return w.String(), f
	}
	return text, f
}

type decodeLine struct {
	File   string    `json:"file"`
	OK     bool      `json:"ok"`
	Text   string    `json:"text,omitempty"`
	Format qr.Format `json:"format,omitempty"`
	MS     float64   `json:"ms"`
	Error  string    `json:"error,omitempty"`
}

func qrDecode(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qr decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "one JSON object per file")
	budget := fs.Duration("budget", 200*time.Millisecond, "decoding time budget per image")
	unmasked := fs.Bool("unmasked", false, "print CPM payloads and wallet codes in clear")
	files, err := traceParseArgs(fs, args)
	if err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, qrUsage)
		return 2
	}
	dec := &scan.Decoder{Budget: *budget}
	code := 0
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, f := range files {
		start := time.Now()
		l := decodeLine{File: f}
		img, err := scan.ReadImage(f)
		if err == nil {
			var r scan.Result
			if r, err = dec.Decode(img); err == nil {
				l.OK = true
				l.Text, l.Format = shownText(r.Text, *unmasked)
			}
		}
		l.MS = float64(time.Since(start).Microseconds()) / 1000
		if err != nil {
			l.Error = err.Error()
			code = 1
		}
		if *asJSON {
			enc.Encode(l)
		} else if l.OK {
			fmt.Fprintf(stdout, "%s: %s (%s, %.1f ms)\n", f, l.Text, l.Format, l.MS)
		} else {
			fmt.Fprintf(stdout, "%s: no code: %s\n", f, l.Error)
		}
	}
	return code
}

type scanLine struct {
	Text    string       `json:"text"`
	Format  qr.Format    `json:"format"`
	Source  string       `json:"source"`
	At      time.Time    `json:"at"`
	MS      float64      `json:"ms,omitempty"`
	Attempt scan.Attempt `json:"attempt,omitempty"`
}

func qrScan(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("qr scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	camera := fs.String("camera", "", "V4L2 device, e.g. /dev/video0")
	serialPath := fs.String("serial", "", "serial barcode scanner device")
	dir := fs.String("dir", "", "folder to watch for image files")
	url := fs.String("url", "", "MJPEG over HTTP (IP camera) URL")
	useStdin := fs.Bool("stdin", false, "an image or an MJPEG stream on stdin")
	asJSON := fs.Bool("json", false, "one JSON object per code")
	window := fs.Duration("window", 3*time.Second, "do not report the same code again within this time")
	count := fs.Int("count", 0, "exit after this many codes (0 = run until interrupted)")
	baud := fs.Int("baud", 9600, "serial speed")
	eol := fs.String("eol", "cr", "serial line ending: cr, lf, crlf")
	budget := fs.Duration("budget", 50*time.Millisecond, "decoding time budget per frame")
	unmasked := fs.Bool("unmasked", false, "print CPM payloads and wallet codes in clear")
	if _, err := traceParseArgs(fs, args); err != nil {
		return 2
	}
	opts := scan.Options{Window: *window, Decoder: &scan.Decoder{Budget: *budget},
		OnError: func(err error) { fmt.Fprintf(stderr, "posagent qr scan: skipped: %v\n", err) }}
	var s *scan.Scanner
	n := 0
	for _, set := range []bool{*camera != "", *serialPath != "", *dir != "", *url != "", *useStdin} {
		if set {
			n++
		}
	}
	if n != 1 {
		fmt.Fprint(stderr, "posagent qr scan: give exactly one source\n"+qrUsage)
		return 2
	}
	switch {
	case *camera != "":
		cam, err := scan.OpenCamera(*camera, scan.CameraOptions{})
		if err != nil {
			fmt.Fprintf(stderr, "posagent qr scan: %v\n", err)
			return 1
		}
		s = scan.NewFrameScanner(cam, opts)
	case *serialPath != "":
		ends := map[string]string{"cr": "\r", "lf": "\n", "crlf": "\r\n"}
		e, ok := ends[*eol]
		if !ok {
			fmt.Fprintf(stderr, "posagent qr scan: --eol %q: want cr, lf or crlf\n", *eol)
			return 2
		}
		sp, err := scan.OpenSerial(*serialPath, scan.SerialOptions{Baud: *baud, EOL: e})
		if err != nil {
			fmt.Fprintf(stderr, "posagent qr scan: %v\n", err)
			return 1
		}
		s = scan.NewTextScanner(sp, opts)
	case *dir != "":
		opts.Lossless = true
		s = scan.NewFrameScanner(&scan.Dir{Path: *dir}, opts)
	case *url != "":
		s = scan.NewFrameScanner(&scan.HTTPMJPEG{URL: *url, Reconnect: time.Second}, opts) // IP cameras drop streams
	default:
		opts.Lossless = true
		s = scan.NewFrameScanner(&scan.Stream{R: stdin, Name: "stdin"}, opts)
	}
	defer s.Close()
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for seen := 0; *count == 0 || seen < *count; seen++ {
		c, err := s.Next(ctx)
		if err == io.EOF || ctx.Err() != nil {
			return 0
		}
		if err != nil {
			fmt.Fprintf(stderr, "posagent qr scan: %v\n", err)
			return 1
		}
		text, f := shownText(c.Text, *unmasked)
		if *asJSON {
			enc.Encode(scanLine{Text: text, Format: f, Source: c.Source, At: c.At.UTC(), MS: float64(c.Decode.Microseconds()) / 1000, Attempt: c.Attempt})
		} else {
			fmt.Fprintf(stdout, "%s %s\n", f, text)
		}
	}
	return 0
}
