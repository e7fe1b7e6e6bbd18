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

	"posagent/qr"
	"posagent/qr/render"
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
      build the merchant-presented dynamic code of one payment, print its
      payload and draw it on the terminal; write PNG/SVG files if asked.
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
	if _, err := traceParseArgs(fs, args); err != nil {
		return 2
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
