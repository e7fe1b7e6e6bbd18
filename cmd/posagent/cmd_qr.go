package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"posagent/qr"
)

const qrUsage = `usage:
  posagent qr parse [--strict] [--json] PAYLOAD|-
      classify and decode a scanned payment code (EMVCo MPM/CPM, WeChat Pay,
      Alipay, UnionPay) and print one JSON object: format, valid, crc_ok,
      errors, warnings, fields (card data masked). "-" reads stdin. --strict
      makes EMVCo rule warnings errors. Exit 1 when not valid.
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
