package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"posagent/money"
	"time"

	"posagent/emv"
	"posagent/emv/arqc"
	"posagent/emv/cardsim"
	"posagent/emv/tlv"
	"posagent/offline"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

// demoOnline is the acquirer's answer as `posagent demo --json` prints it.
type demoOnline struct {
	MTI          string `json:"mti"`
	ResponseCode string `json:"response_code"`
	Approved     bool   `json:"approved"`
	AuthCode     string `json:"auth_code,omitempty"`
	STAN         string `json:"stan"`
	RRN          string `json:"rrn,omitempty"`
	// ARPC: "verified", "mismatch", "absent" or "not_checked".
	ARPC string `json:"arpc"`
}

// demoJournal is what the acquirer simulator's journal holds after the run.
type demoJournal struct {
	Authorisations int   `json:"authorisations"` // 0100 + 0200 requests, duplicates excluded
	Approved       int   `json:"approved"`
	Declined       int   `json:"declined"`
	ApprovedAmount int64 `json:"approved_amount"` // minor units, in the payment's currency
	Advices        int   `json:"advices"`
	Reversals      int   `json:"reversals"`
	Net            int64 `json:"net"` // minor units, in the payment's currency
}

// demoReport is what `posagent demo --json` prints: the kernel's report
// plus the online result.
type demoReport struct {
	emv.Report
	Payment     string          `json:"payment"` // transaction id
	Result      string          `json:"result"`  // APPROVED, DECLINED, FAILED
	Why         string          `json:"why,omitempty"`
	Card        string          `json:"card"` // cardsim preset
	TestKeys    bool            `json:"test_keys"`
	Amount      string          `json:"amount"`
	AmountMinor int64           `json:"amount_minor"`
	Currency    string          `json:"currency"` // ISO 4217 numeric
	Acquirer    string          `json:"acquirer"`
	Online      *demoOnline     `json:"online"`
	Journal     *demoJournal    `json:"journal"`
	QR          []demoQRPayment `json:"qr,omitempty"` // --qr
	KeptDir     string          `json:"kept_dir,omitempty"`
}

// demoCurrencyNames gives alphabetic codes for the final line.
var demoCurrencyNames = map[uint16]string{
	978: "EUR", 840: "USD", 826: "GBP", 756: "CHF", 156: "CNY", 392: "JPY",
	752: "SEK", 208: "DKK", 578: "NOK", 985: "PLN", 203: "CZK", 348: "HUF", 124: "CAD",
}

func demoCurrencyName(c uint16) string {
	if n, ok := demoCurrencyNames[c]; ok {
		return n
	}
	return fmt.Sprintf("%03d", c)
}

// runDemo runs one payment end to end on embedded defaults: a software card
// (emv/cardsim) through the EMV kernel, and the online request over mutual
// TLS to the acquirer simulator (uplink/acqsim) on loopback, with the
// uplink's reversal store (offline) in a temporary directory.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("posagent demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	amountText := fs.String("amount", "12.34", "amount in major units")
	currency := fs.Uint("currency", 978, "ISO 4217 numeric currency code")
	cardName := fs.String("card", "visa", "simulated card: visa, mastercard, unionpay (or another emv/cardsim preset)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the steps")
	keep := fs.String("keep", "", "keep the working files (certificates, journal, queue) in this directory")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	verbose := fs.Bool("v", false, "log the uplink and the acquirer simulator to stderr")
	withQR := fs.Bool("qr", false, "also one QR payment of each kind (consumer- and merchant-presented)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: posagent demo [--amount 12.34] [--currency 978] [--card visa|mastercard|unionpay] [--json] [--keep DIR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "posagent demo: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if *currency == 0 || *currency > 999 {
		return usage("--currency %d is not an ISO 4217 numeric code", *currency)
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "posagent demo: %v\n", err)
		return 1
	}

	cfg := emv.DefaultConfig()
	cur := uint16(*currency)
	mc, err := money.Numeric(cur)
	if err != nil {
		return usage("--currency: %v", err)
	}
	amount, err := mc.ParseAmount(*amountText)
	if err != nil {
		return usage("--amount: %v", err)
	}
	if amount <= 0 {
		return usage("--amount must be more than zero")
	}
	profile, err := cardsim.Preset(*cardName)
	if err != nil {
		return usage("--card: %v", err)
	}
	curText := fmt.Sprintf("%03d", cur)
	amountShow := mc.FormatAmount(amount) + " " + demoCurrencyName(cur)

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// Working directory: a fresh temp dir, or --keep.
	var dir string
	if *keep != "" {
		dir = *keep
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fail(err)
		}
		if entries, err := os.ReadDir(dir); err != nil {
			return fail(err)
		} else if len(entries) > 0 {
			return usage("--keep %s: directory is not empty", dir)
		}
	} else {
		if dir, err = os.MkdirTemp("", "posagent-demo-"); err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
	}

	step := 0
	say := func(format string, a ...any) {
		if *asJSON {
			return
		}
		step++
		fmt.Fprintf(stdout, "%d. "+format+"\n", append([]any{step}, a...)...)
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	// Everything started below is stopped in reverse order, before the
	// journal is read and the directory removed.
	var closers []func()
	shutdown := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		closers = nil
	}
	defer shutdown()

	// 1. The acquirer simulator.
	tlsDir := filepath.Join(dir, "tls")
	if err := acqsim.InitCerts(tlsDir); err != nil {
		return fail(err)
	}
	journalPath := filepath.Join(dir, "journal.jsonl")
	journal, err := acqsim.OpenJournal(journalPath)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { journal.Close() })
	stls, err := acqsim.ServerTLS(tlsDir)
	if err != nil {
		return fail(err)
	}
	srv, err := acqsim.NewServer(acqsim.Config{TLS: stls, Journal: journal, Logger: log.With("side", "acqsim")})
	if err != nil {
		return fail(err)
	}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { srv.Close() })
	say("acquirer simulator listening on %s (ISO 8583 over mutual TLS, default rules: approve, ARQC verified; journal %s)", addr, journalPath)

	// 2. The uplink with its durable reversal store.
	store, err := offline.Open(filepath.Join(dir, offline.DBFileName), offline.Options{
		// The demo's terminal goes online for every payment; a TC would
		// become an advice within these limits.
		Limits: map[string]offline.Limit{"*": {PerTransaction: 5000}},
		Logger: log.With("side", "offline"),
	})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { store.Close() })
	ctls, err := acqsim.ClientTLSFiles(tlsDir).Load()
	if err != nil {
		return fail(err)
	}
	stan, err := uplink.OpenSTAN(filepath.Join(dir, "stan"), 0)
	if err != nil {
		return fail(err)
	}
	client, err := uplink.New(uplink.Config{
		Addr: addr.String(), TLS: ctls, TerminalID: cfg.TerminalID, MerchantID: cfg.MerchantID,
		MCC: fmt.Sprintf("%04d", cfg.MCC), AcquirerID: "12345", Queue: store, STAN: stan,
		ResponseTimeout: 5 * time.Second, ConnectWait: 5 * time.Second,
		Logger: log.With("side", "uplink"),
	})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { client.Close() })
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	err = client.WaitReady(rctx)
	rcancel()
	if err != nil {
		return fail(fmt.Errorf("uplink did not connect to the acquirer simulator: %w", err))
	}
	say("uplink connected and signed on (terminal %s, merchant %s, client certificate); reversal store %s", cfg.TerminalID, cfg.MerchantID, store.Path())

	// 3. The card.
	card, err := cardsim.New(profile)
	if err != nil {
		return fail(err)
	}
	cfg.TestKeys = true
	term := &emv.Terminal{Config: cfg}
	say("simulated card %q presented (%s, PAN %s); test CA keys ON because the card is simulated (posagent test CAs)", profile.Name, profile.Label, profile.MaskedPAN())
	res, err := term.Run(ctx, card, emv.Transaction{Amount: amount, Currency: cur})
	if err != nil {
		return fail(fmt.Errorf("card: no outcome: %w", err))
	}
	rep := demoReport{
		Report: res.Report(), Payment: demoTxnID(), Card: profile.Name, TestKeys: true,
		Amount: mc.FormatAmount(amount), AmountMinor: amount, Currency: curText, Acquirer: addr.String(),
	}
	oda := "none"
	if res.ODA != nil {
		oda = res.ODA.Method + " " + res.ODA.Result
		if res.ODA.Reason != "" {
			oda += " (" + res.ODA.Reason + ")"
		}
	}
	cvm := res.CVM
	if cvm == "" {
		cvm = "none"
	}
	say("card tapped: kernel %s, AID %s (%s), PAN %s, ODA %s, CVM %s, cryptogram %s, outcome %s (%d commands)",
		rep.Kernel, rep.AID, res.Label, res.PAN, oda, cvm, demoOr(res.Cryptogram, "none"), res.Outcome, res.Commands)
	if res.Reason != "" {
		say("kernel: %s", res.Reason)
	}

	// 4. Online, offline advice, or declined by the card.
	tx := uplink.Transaction{
		ID: rep.Payment, PAN: res.PAN, Expiry: res.Expiry, PSN: demoPSN(res.PANSeq),
		Amount: amount, Currency: curText, EntryMode: uplink.EntryContactless, ICC: res.ICCData,
	}
	if !res.Track2.PAN.IsZero() {
		t2 := res.Track2
		tx.Track2 = &t2
	}
	if tx.PAN.IsZero() && tx.Track2 != nil {
		tx.PAN = tx.Track2.PAN
	}
	switch res.Outcome {
	case emv.OnlineRequest:
		if res.CVM == "online_pin" {
			say("note: the card asks for online PIN; the demo has no PIN pad, the request goes without a PIN block")
		}
		r, err := client.Purchase(ctx, tx)
		if err != nil {
			var te *uplink.TxnError
			if errors.As(err, &te) && te.Reversed {
				say("online: no usable answer (%v); the armed reversal is released", te.Err)
				st := demoDrain(ctx, store, client, tx.ID)
				say("reversal %s", demoOr(string(st), "state unknown"))
				rep.Result, rep.Why = "FAILED", "no usable answer from the acquirer; reversal "+demoOr(string(st), "state unknown")
			} else {
				return fail(fmt.Errorf("online: %w", err))
			}
			break
		}
		on := &demoOnline{MTI: r.MTI, ResponseCode: r.ResponseCode, Approved: r.Approved(),
			AuthCode: r.AuthCode, STAN: r.STAN, RRN: r.RRN, ARPC: demoCheckARPC(res, profile, r)}
		rep.Online = on
		verdict := "declined"
		if on.Approved {
			verdict = "approved"
		}
		say("online: 0200 sent (reversal armed first in the store), %s answered: response code %s, %s, auth code %s, STAN %s, RRN %s, ARPC %s",
			r.MTI, r.ResponseCode, verdict, demoOr(r.AuthCode, "none"), r.STAN, demoOr(r.RRN, "none"), on.ARPC)
		if on.Approved {
			rep.Result = "APPROVED"
		} else {
			rep.Result, rep.Why = "DECLINED", "issuer response code "+r.ResponseCode+demoRCText(r.ResponseCode)
		}
	case emv.Approved:
		if err := client.Advice(ctx, tx, "Y1"); err != nil {
			return fail(fmt.Errorf("offline approval: %w", err))
		}
		say("approved offline by the card; advice queued in the store")
		st := demoDrain(ctx, store, client, tx.ID)
		say("advice forwarded to the acquirer: %s", demoOr(string(st), "state unknown"))
		rep.Result = "APPROVED"
	case emv.Declined:
		rep.Result, rep.Why = "DECLINED", "declined by the card"
		if res.Reason != "" {
			rep.Why += ": " + res.Reason
		}
	default:
		rep.Result, rep.Why = "DECLINED", "no payment: kernel outcome "+res.Outcome.String()
		if res.Reason != "" {
			rep.Why += ": " + res.Reason
		}
	}

	if *withQR {
		if rep.QR, err = demoQR(ctx, say, client, srv, cfg, amount, mc); err != nil {
			return fail(err)
		}
	}

	// 5. Shut down, then read what the acquirer journalled.
	shutdown()
	tot, err := acqsim.ReadTotals(journalPath)
	if err != nil {
		return fail(err)
	}
	rep.Journal = demoTotals(tot, curText)
	j := rep.Journal
	say("journal: %d authorisation(s) (%d approved, %d declined), approved amount %s, advices %d, reversals %d, net %s",
		j.Authorisations, j.Approved, j.Declined, mc.FormatAmount(j.ApprovedAmount)+" "+demoCurrencyName(cur),
		j.Advices, j.Reversals, mc.FormatAmount(j.Net)+" "+demoCurrencyName(cur))
	if *keep != "" {
		rep.KeptDir = dir
		say("stopped uplink and acquirer simulator; files kept in %s", dir)
	} else {
		say("stopped uplink and acquirer simulator; temporary files removed")
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fail(err)
		}
	} else {
		line := fmt.Sprintf("payment %s %s %s", rep.Payment, rep.Result, amountShow)
		if rep.Why != "" {
			line += " (" + rep.Why + ")"
		}
		fmt.Fprintln(stdout, line)
	}
	if rep.Result == "FAILED" {
		return 1
	}
	return 0
}

// demoTxnID is a fresh cashier-style transaction id.
func demoTxnID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "demo-" + time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

// demoPSN writes the PAN sequence number (5F34, one BCD byte) as 3 digits.
func demoPSN(v []byte) string {
	if len(v) != 1 || v[0]>>4 > 9 || v[0]&0x0F > 9 {
		return ""
	}
	return fmt.Sprintf("0%02x", v[0])
}

func demoOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func demoRCText(rc string) string {
	switch rc {
	case uplink.RCDoNotHonour:
		return " (do not honour)"
	case uplink.RCInsufficient:
		return " (insufficient funds)"
	case uplink.RCNotPermitted:
		return " (not permitted)"
	case uplink.RCCryptogramFailed:
		return " (cryptogram verification failed)"
	case uplink.RCIssuerDown:
		return " (issuer unavailable)"
	}
	return ""
}

// demoCheckARPC checks the issuer's ARPC (tag 91 of the response's field 55)
// the way the card would: with the simulated card's test issuer key. The
// software cards cannot be asked to, and a real terminal leaves it to the
// card; the demo does it to show the answer really comes from the issuer
// that verified the ARQC.
func demoCheckARPC(res *emv.Result, p cardsim.Profile, r uplink.Result) string {
	list, err := tlv.Parse(r.ICC)
	if err != nil {
		return "absent"
	}
	iad := tlv.Value(list, 0x91)
	if len(iad) != 10 {
		return "absent"
	}
	req, err := tlv.Parse(res.ICCData)
	if err != nil {
		return "not_checked"
	}
	ac, atc := tlv.Value(req, 0x9F26), tlv.Value(req, 0x9F36)
	if len(ac) != 8 || len(atc) != 2 || len(r.ResponseCode) != 2 || res.PAN.IsZero() {
		return "not_checked"
	}
	psn := byte(0)
	if len(res.PANSeq) == 1 {
		psn = res.PANSeq[0]
	}
	mk := arqc.DeriveICCMasterKey(p.IMK, res.PAN.Digits(), psn)
	sk := arqc.SessionKey(mk, [2]byte{atc[0], atc[1]})
	want := arqc.ARPC(sk, [8]byte(ac), [2]byte{r.ResponseCode[0], r.ResponseCode[1]})
	if subtle.ConstantTimeCompare(want[:], iad[:8]) != 1 || string(iad[8:]) != r.ResponseCode {
		return "mismatch"
	}
	return "verified"
}

// demoDrain runs the offline forwarder until the store's entry id (a
// released reversal, an advice) is settled or ctx ends. It returns the
// entry's final state.
func demoDrain(ctx context.Context, store *offline.Store, client *uplink.Client, id string) offline.State {
	f := &offline.Forwarder{Store: store, Sender: client, BackoffBase: 10 * time.Millisecond, BackoffMax: 200 * time.Millisecond}
	for {
		e, err := store.Get(id)
		if err != nil {
			return ""
		}
		if e.State == offline.StateDone || e.State == offline.StateFailed {
			return e.State
		}
		if n, err := f.Step(ctx); err != nil || n == 0 {
			select {
			case <-ctx.Done():
				return e.State
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// demoTotals sums the journal for the payment's currency.
func demoTotals(t *acqsim.Totals, cur string) *demoJournal {
	j := &demoJournal{Net: t.Net[cur]}
	for _, kind := range []string{acqsim.KindAuth, acqsim.KindFinancial} {
		if k := t.ByKind[kind]; k != nil {
			j.Authorisations += k.Count
			j.Approved += k.Approved
			j.Declined += k.Declined
			j.ApprovedAmount += k.ApprovedAmount[cur]
		}
	}
	if k := t.ByKind[acqsim.KindAdvice]; k != nil {
		j.Advices = k.Count
	}
	if k := t.ByKind[acqsim.KindReversal]; k != nil {
		j.Reversals = k.Count
	}
	return j
}
