// Command acqsim is the acquirer host simulator: ISO 8583 over mutual TLS
// for demos, tests and load.
//
//	acqsim init DIR
//	acqsim serve --listen 127.0.0.1:PORT --tls DIR --journal FILE [--rules FILE] [--fault KIND] [--delay D] [--close-after N]
//	acqsim journal FILE
//	acqsim load --addr 127.0.0.1:PORT --tls DIR [--terminals 1000] [--duration 10s] [--financial]
//	acqsim spec > spec.json
//	acqsim pay-qr --wallet https://127.0.0.1:PORT --tls DIR PAYLOAD
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"posagent/uplink"
	"posagent/uplink/acqsim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  acqsim init DIR                       write a test CA, server and client certificates
  acqsim serve --listen ADDR --tls DIR --journal FILE [--rules FILE] [--fault KIND]
               [--delay D] [--close-after N] [--header binary2|bcd2|ascii4] [--spec FILE]
  acqsim journal FILE                   print the totals of a journal
  acqsim load --addr ADDR --tls DIR [--terminals N] [--duration D] [--financial]
  acqsim spec                           print the default ISO 8583 spec as JSON
  acqsim pay-qr --wallet URL --tls DIR PAYLOAD|-
                                        play the customer's wallet paying a merchant-presented
                                        code (serve --wallet-listen ADDR gives the URL)
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "init":
		if len(args) != 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		err = acqsim.InitCerts(args[1])
		if err == nil {
			fmt.Fprintf(stdout, "wrote CA, server and client certificates to %s\n", args[1])
		}
	case "serve":
		err = serve(args[1:], stdout, stderr)
	case "journal":
		if len(args) != 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		var t *acqsim.Totals
		t, err = acqsim.ReadTotals(args[1])
		if err == nil {
			t.Print(stdout)
		}
	case "load":
		err = load(args[1:], stdout, stderr)
	case "pay-qr":
		err = payQR(args[1:], os.Stdin, stdout, stderr)
	case "spec":
		var b []byte
		b, err = uplink.SpecJSON(uplink.DefaultSpec())
		if err == nil {
			stdout.Write(append(b, '\n'))
		}
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "acqsim:", err)
		return 1
	}
	return 0
}

func serve(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8583", "address to listen on")
	tlsDir := fs.String("tls", "", "directory written by acqsim init")
	journal := fs.String("journal", "", "journal file (JSON lines, fsync'd)")
	rules := fs.String("rules", "", "rules file (JSON)")
	fault := fs.String("fault", "", "per-run fault: down, drop_before, drop_after, garbage, bad_bitmap, truncated, missing_field, bad_length")
	delay := fs.Duration("delay", 0, "per-run answer delay")
	closeAfter := fs.Int("close-after", 0, "close each connection after N messages")
	header := fs.String("header", "binary2", "network length header")
	specFile := fs.String("spec", "", "JSON spec file (default: built-in)")
	verbose := fs.Bool("v", false, "log every connection problem")
	walletListen := fs.String("wallet-listen", "", "also serve the wallet provider endpoint (acqsim pay-qr) on this address, mutual TLS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tlsDir == "" || *journal == "" {
		return errors.New("serve needs --tls DIR and --journal FILE")
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	tcfg, err := acqsim.ServerTLS(*tlsDir)
	if err != nil {
		return err
	}
	kind, err := acqsim.ParseFault(*fault)
	if err != nil {
		return err
	}
	h, err := uplink.ParseHeader(*header)
	if err != nil {
		return err
	}
	cfg := acqsim.Config{TLS: tcfg, Header: h, Logger: log,
		Fault: acqsim.Fault{Kind: kind, Delay: *delay, CloseAfter: *closeAfter}}
	if *specFile != "" {
		if cfg.Spec, err = uplink.LoadSpec(*specFile); err != nil {
			return err
		}
	}
	if *rules != "" {
		if cfg.Rules, err = acqsim.LoadRules(*rules); err != nil {
			return err
		}
	}
	j, err := acqsim.OpenJournal(*journal)
	if err != nil {
		return err
	}
	defer j.Close()
	cfg.Journal = j
	srv, err := acqsim.NewServer(cfg)
	if err != nil {
		return err
	}
	addr, err := srv.Listen(*listen)
	if err != nil {
		return err
	}
	if *walletListen != "" {
		wl, err := net.Listen("tcp", *walletListen)
		if err != nil {
			return err
		}
		hs := &http.Server{Handler: srv.WalletHandler(), ReadHeaderTimeout: 5 * time.Second}
		go hs.Serve(tls.NewListener(wl, tcfg))
		defer hs.Close()
		fmt.Fprintf(stdout, "acqsim wallet listening on https://%s\n", wl.Addr())
	}
	fmt.Fprintf(stdout, "acqsim listening on %s\n", addr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	srv.Close()
	fmt.Fprintf(stdout, "acqsim: %d messages, %d approved, %d declined, %d duplicates, %d ARQC failures\n",
		srv.Stats.Messages.Load(), srv.Stats.Approved.Load(), srv.Stats.Declined.Load(),
		srv.Stats.Duplicates.Load(), srv.Stats.ARQCFailed.Load())
	return nil
}

func load(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8583", "acqsim address")
	tlsDir := fs.String("tls", "", "directory written by acqsim init (client certificate)")
	terminals := fs.Int("terminals", 1000, "simulated terminals (one connection each)")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	header := fs.String("header", "binary2", "network length header")
	financial := fs.Bool("financial", false, "send 0200 purchases instead of 0100 authorisations")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tlsDir == "" {
		return errors.New("load needs --tls DIR")
	}
	h, err := uplink.ParseHeader(*header)
	if err != nil {
		return err
	}
	tcfg, err := acqsim.ClientTLSFiles(*tlsDir).Load()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := acqsim.Load(ctx, acqsim.LoadConfig{Addr: *addr, TLS: tcfg, Terminals: *terminals,
		Duration: *duration, Header: h, Financial: *financial})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%.0f auth/s  p50 %v  p99 %v  (%s)\n", res.Rate, res.P50, res.P99, res)
	return nil
}

// payQR posts a merchant-presented payload to acqsim's wallet endpoint, as
// the customer's wallet app would after scanning the code.
func payQR(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pay-qr", flag.ContinueOnError)
	fs.SetOutput(stderr)
	wallet := fs.String("wallet", "", "wallet endpoint URL printed by serve --wallet-listen")
	tlsDir := fs.String("tls", "", "directory written by acqsim init (client certificate)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *wallet == "" || *tlsDir == "" || fs.NArg() != 1 {
		return errors.New("pay-qr needs --wallet URL --tls DIR and one PAYLOAD (- for stdin)")
	}
	payload := fs.Arg(0)
	if payload == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, 8<<10))
		if err != nil {
			return err
		}
		payload = strings.TrimRight(string(b), "\r\n")
	}
	tcfg, err := acqsim.ClientTLSFiles(*tlsDir).Load()
	if err != nil {
		return err
	}
	tcfg.ServerName = "localhost"
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tcfg}, Timeout: 10 * time.Second}
	body, _ := json.Marshal(map[string]string{"payload": payload})
	resp, err := hc.Post(strings.TrimRight(*wallet, "/")+"/wallet/pay", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	stdout.Write(out)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("wallet refused the code: HTTP %d", resp.StatusCode)
	}
	return nil
}
