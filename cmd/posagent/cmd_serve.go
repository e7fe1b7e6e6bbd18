package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"posagent/agent"
	"posagent/agent/api"
	"posagent/agent/config"
	inputpcsc "posagent/agent/input/pcsc"
	"posagent/agent/input/qrscan"
	"posagent/agent/input/sim"
	"posagent/agent/nexo"
	"posagent/agent/qrdisplay"
	"posagent/agent/web"
	"posagent/emv"
	"posagent/money"
	"posagent/offline"
	"posagent/qr"
	"posagent/qr/scan"
	"posagent/reader/pcsc"
	"posagent/uplink"
)

// serveGrace bounds the shutdown: the payment in flight is finished or
// aborted within it, then the HTTP servers close.
const serveGrace = 30 * time.Second

// runServe is the daemon: config, keys, engine, local API. Wiring only:
// the engine (agent) decides, the API (agent/api) serves.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("posagent serve", flag.ContinueOnError)
	flags.SetOutput(stderr)
	cfgPath := flags.String("config", config.DefaultPath, "config file (TOML); a missing default file means embedded defaults")
	printDefaults := flags.Bool("print-defaults", false, "print the embedded default config and exit")
	check := flags.Bool("check", false, "validate the config and exit")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: posagent serve [--config /etc/posagent/posagent.toml] [--check] [--print-defaults]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "posagent serve: unexpected argument %q\n", flags.Arg(0))
		return 2
	}
	if *printDefaults {
		io.WriteString(stdout, config.Defaults())
		return 0
	}
	path := *cfgPath
	if path == config.DefaultPath {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			path = ""
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintf(stderr, "posagent serve: config:\n%v\n", err)
		return 1
	}
	if *check {
		fmt.Fprintf(stdout, "config %s: ok\n", orDefaults(cfg.File))
		return 0
	}
	d, err := startDaemon(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "posagent serve: %v\n", err)
		return 1
	}
	d.log.Info("ready", "api", d.addrs(), "data", cfg.DataDir, "config", orDefaults(cfg.File))
	<-ctx.Done()
	d.log.Info("stopping", "reason", "signal")
	if err := d.stop(); err != nil {
		d.log.Error("stop", "err", err)
		return 1
	}
	d.log.Info("stopped")
	return 0
}

func orDefaults(file string) string {
	if file == "" {
		return "(embedded defaults)"
	}
	return file
}

// daemon is a running engine and API.
type daemon struct {
	log       *slog.Logger
	eng       *agent.Engine
	srv       *api.Server
	listeners []net.Listener
	sim       *sim.Reader
	scanner   *sim.Scanner
	closers   []func()
	token     string
	closing   atomic.Bool
	stopServe context.CancelFunc
	served    chan error
	nexo      *nexo.Server // nil unless [nexo] enabled
	stopOnce  sync.Once
	stopErr   error
}

func (d *daemon) addrs() []string {
	var out []string
	for _, l := range d.listeners {
		out = append(out, l.Addr().Network()+":"+l.Addr().String())
	}
	return out
}

// daemonHooks let the demo and tests look inside a daemon they start.
type daemonHooks struct {
	// wrapObserver wraps the metrics Observer the engine gets.
	wrapObserver func(agent.Observer) agent.Observer
}

// startDaemon opens the engine on cfg and serves the API; stop undoes it.
func startDaemon(cfg *config.Config, logOut io.Writer, hooks ...daemonHooks) (*daemon, error) {
	log := newLogger(cfg.Log, logOut)
	if err := cfg.PrepareDirs(); err != nil {
		return nil, err
	}
	keys := cfg.Keys()
	token, err := api.LoadOrCreateToken(keys.APIToken)
	if err != nil {
		return nil, err
	}
	d := &daemon{log: log, token: token, served: make(chan error, 1)}
	ecfg, err := d.engineConfig(cfg, keys)
	if err != nil {
		d.closeInputs()
		return nil, err
	}
	simReader := d.sim
	metrics := api.NewMetrics(api.StatusFunc(func() api.Status { return d.eng.Status() }))
	ecfg.Observer = metrics
	for _, h := range hooks {
		if h.wrapObserver != nil {
			ecfg.Observer = h.wrapObserver(ecfg.Observer)
		}
	}
	eng, err := agent.Open(ecfg)
	if err != nil {
		d.closeInputs()
		if errors.Is(err, offline.ErrLocked) {
			return nil, fmt.Errorf("data directory %s is in use by another posagent (%w)", cfg.DataDir, err)
		}
		return nil, fmt.Errorf("opening the engine: %w", err)
	}
	d.eng = eng
	var mounts []api.Mount
	// The customer display and the integrator console (agent/web) check
	// their own access: loopback or a paired display, the API token for
	// the console's routes.
	auth, err := api.NewAuth(token)
	if err != nil {
		eng.Close(context.Background())
		d.closeInputs()
		return nil, err
	}
	var qrPNG http.Handler // a merchant-presented payment's code (agent/qrdisplay)
	wopts := web.Options{Engine: eng, Authorize: auth.Check, Merchant: cfg.Terminal.MerchantName,
		DisplayKey: []byte(token), Logger: log.With("part", "web")}
	if ecfg.QRMerchant != nil {
		qrPNG = qrdisplay.Handler(eng, *ecfg.QRMerchant, cfg.Terminal.TerminalID)
		wopts.QR = web.QRFromAPI(qrPNG, func() string { return token }) // the display shows what qr.png serves
	}
	pages, err := web.New(wopts)
	if err != nil {
		eng.Close(context.Background())
		d.closeInputs()
		return nil, err
	}
	for _, p := range web.Patterns {
		mounts = append(mounts, api.Mount{Pattern: p, Handler: pages, Public: true})
	}
	if simReader != nil {
		mounts = append(mounts, api.Mount{Pattern: "POST /v1/simulator/present", Handler: simulatorHandler("card", simReader.Present)})
	}
	if d.scanner != nil {
		mounts = append(mounts, api.Mount{Pattern: "POST /v1/simulator/scan", Handler: simulatorHandler("code", d.scanner.Show)})
	}
	if qrPNG != nil {
		// A customer display fetches the code without the cashier's token.
		mounts = append(mounts, api.Mount{Pattern: qrdisplay.Pattern, Handler: qrPNG, Public: true})
	}
	srv, err := api.New(eng, api.Options{
		Token: token, PaymentTimeout: cfg.API.PaymentTimeout, Metrics: metrics, Mounts: mounts,
		Logger: log.With("part", "api"),
		Ready: func() error {
			if d.closing.Load() {
				return errors.New("shutting down")
			}
			return nil
		},
	})
	if err != nil {
		eng.Close(context.Background())
		d.closeInputs()
		return nil, err
	}
	d.srv = srv
	ls, err := api.Listen(cfg.API)
	if err != nil {
		eng.Close(context.Background())
		d.closeInputs()
		return nil, err
	}
	d.listeners = ls
	sctx, cancel := context.WithCancel(context.Background())
	d.stopServe = cancel
	go func() { d.served <- srv.Serve(sctx, 5*time.Second, ls...) }()
	if cfg.Nexo.Enabled {
		nx, err := nexo.Open(cfg.Nexo, cfg.KeyDir, eng, nil, log.With("part", "nexo"))
		if err != nil {
			d.stop()
			return nil, fmt.Errorf("nexo endpoint: %w", err)
		}
		d.nexo = nx
		log.Info("nexo endpoint listening", "addr", nx.Addr().String())
		go func() {
			if err := nx.Serve(); err != nil {
				log.Error("nexo endpoint stopped", "err", err)
			}
		}()
	}
	return d, nil
}

// stop finishes or aborts the payment in flight (the engine answers the
// waiting request with its final state), then closes the API. Later calls
// return the first call's result.
func (d *daemon) stop() error {
	d.stopOnce.Do(func() {
		d.closing.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), serveGrace)
		defer cancel()
		err := d.eng.Close(ctx)
		if d.nexo != nil {
			d.nexo.Shutdown(ctx) // after the engine: the payment in flight has answered
		}
		d.closeInputs()
		d.stopServe()
		if serr := <-d.served; serr != nil && err == nil {
			err = serr
		}
		d.stopErr = err
	})
	return d.stopErr
}

// closeInputs releases what the inputs hold (the PC/SC context), after the
// engine no longer uses them.
func (d *daemon) closeInputs() {
	for _, c := range d.closers {
		c()
	}
	d.closers = nil
}

// engineConfig maps the daemon config onto the engine's; the inputs it
// opens are d.sim and what d.closers release.
func (d *daemon) engineConfig(cfg *config.Config, keys config.KeyPaths) (agent.Config, error) {
	log := d.log
	term := emv.DefaultConfig()
	cur, err := money.Parse(cfg.Terminal.Currency)
	if err != nil {
		return agent.Config{}, err
	}
	term.TerminalID, term.MerchantID, term.MerchantName = cfg.Terminal.TerminalID, cfg.Terminal.MerchantID, cfg.Terminal.MerchantName
	term.MCC, term.CountryCode = uint16(cfg.Terminal.MCC), uint16(cfg.Terminal.Country)
	term.CurrencyCode = cur.NumericCode()
	term.TestKeys = cfg.Terminal.TestKeys // the one switch for test CA keys
	limits := map[string]offline.Limit{}
	for alpha, l := range cfg.Offline.Limits {
		key := "*"
		if alpha != "*" {
			c, err := money.Parse(alpha)
			if err != nil {
				return agent.Config{}, err
			}
			key = fmt.Sprintf("%03d", c.NumericCode())
		}
		limits[key] = offline.Limit{PerTransaction: l.PerTransaction, TotalAmount: l.TotalAmount, Count: l.Count,
			MaxAge: l.MaxAge, CardCount: l.CardCount, CardAmount: l.CardAmount}
	}
	ecfg := agent.Config{
		DataFile: cfg.DBPath(),
		STANFile: filepath.Join(cfg.DataDir, "stan"),
		Store: offline.Options{KeyFile: keys.QueueKey, SecretFile: keys.DeviceSecret, Limits: limits,
			OpenTimeout: -1, Logger: log.With("part", "offline")},
		Terminal:      &term,
		SyncAllStates: cfg.SyncAllStates,
		Offline:       agent.OfflinePolicy(cfg.Offline.Policy),
		FloorLimit:    cfg.Offline.FloorLimit,
		PreAuthExpiry: cfg.Offline.PreauthVoidAfter,
		Logger:        log.With("part", "engine"),
	}
	a := cfg.Acquirer
	tlsCfg, err := uplink.TLSFiles{CAFile: a.CA, CertFile: a.ClientCert, KeyFile: a.ClientKey, ServerName: a.ServerName, Pins: a.Pins}.Load()
	if err != nil {
		return agent.Config{}, fmt.Errorf("acquirer TLS: %w", err)
	}
	ecfg.Acquirer = &uplink.Config{Addr: a.Address, TLS: tlsCfg, AcquirerID: a.AcquirerID,
		ResponseTimeout: a.ResponseTimeout, DialTimeout: a.ConnectTimeout, Logger: log.With("part", "uplink")}
	if s := cfg.Readers.Simulated; s.Enabled {
		opts := sim.Options{Default: s.Card}
		for _, r := range s.ByAmount {
			opts.Rules = append(opts.Rules, sim.Rule{Min: r.Min, Max: r.Max, Preset: r.Card})
		}
		if d.sim, err = sim.New(opts); err != nil {
			return agent.Config{}, err
		}
		ecfg.Readers = append(ecfg.Readers, d.sim)
		if s.QR {
			d.scanner = sim.NewScanner("")
			ecfg.Scanners = append(ecfg.Scanners, d.scanner)
			ecfg.ClassifyQR = qrscan.Classify
		}
	}
	if cfg.Readers.PCSC {
		match, err := cfg.Readers.PCSCPattern()
		if err != nil {
			return agent.Config{}, err
		}
		pc, err := pcsc.Open(pcsc.Options{Logger: log.With("part", "pcsc")})
		if err != nil {
			return agent.Config{}, fmt.Errorf("PC/SC readers (readers.pcsc = true): %w; start pcscd or set readers.pcsc = false", err)
		}
		in, err := inputpcsc.New(pc, inputpcsc.Options{Match: match, Logger: log.With("part", "pcsc")})
		if err != nil {
			pc.Close()
			return agent.Config{}, err
		}
		ecfg.Readers = append(ecfg.Readers, in)
		d.closers = append(d.closers, func() { pc.Close() })
	}
	dongles, closeDongles, err := serialInputs(cfg.Readers.Serial, log.With("part", "serial"))
	if err != nil {
		return agent.Config{}, err
	}
	ecfg.Readers = append(ecfg.Readers, dongles...)
	d.closers = append(d.closers, closeDongles)
	for _, sc := range cfg.Readers.Scanners {
		in, err := openScanner(sc, log.With("part", "scanner", "scanner", sc.Name))
		if err != nil {
			return agent.Config{}, fmt.Errorf("readers.scanner %s: %w", sc.Name, err)
		}
		ecfg.Scanners = append(ecfg.Scanners, in)
		ecfg.ClassifyQR = qrscan.Classify
		d.closers = append(d.closers, func() { in.Close() })
	}
	if q := cfg.QR; q.Merchant {
		m := qrdisplay.Merchant(cfg.Terminal, qrdisplay.QRSettings{GUID: q.GUID, City: q.City, Country: q.Country})
		// A code that breaks the EMVCo rules is refused now, not at the first payment.
		if _, err := qr.DynamicPayload(m, qr.Charge{Amount: 1, Currency: cfg.Terminal.Currency, Reference: "CHECK", Terminal: cfg.Terminal.TerminalID}); err != nil {
			return agent.Config{}, fmt.Errorf("qr: the merchant data make no valid code: %w", err)
		}
		ecfg.QRMerchant = &m
		ecfg.QRTimeout, ecfg.QRPoll = q.Timeout, q.Poll
	}
	return ecfg, nil
}

// openScanner opens one [[readers.scanner]] as the engine's Scanner.
func openScanner(sc config.Scanner, log *slog.Logger) (*qrscan.Input, error) {
	s, err := openScanSource(sc, scan.Options{Window: sc.Window, OnError: func(err error) { log.Debug("scanner: skipped", "err", err) }})
	if err != nil {
		return nil, err
	}
	return qrscan.New(sc.Name, s), nil
}

// openScanSource opens the source a scanner config names (the first of
// serial, camera, dir, url that is set) under a qr/scan Scanner; serve's
// scanners and `posagent qr scan` use it.
func openScanSource(sc config.Scanner, opts scan.Options) (*scan.Scanner, error) {
	switch {
	case sc.Serial != "":
		sp, err := scan.OpenSerial(sc.Serial, scan.SerialOptions{Baud: sc.Baud, EOL: config.ScannerEOLs[sc.EOL]})
		if err != nil {
			return nil, err
		}
		return scan.NewTextScanner(sp, opts), nil
	case sc.Camera != "":
		cam, err := scan.OpenCamera(sc.Camera, scan.CameraOptions{})
		if err != nil {
			return nil, err
		}
		return scan.NewFrameScanner(cam, opts), nil
	case sc.Dir != "":
		if fi, err := os.Stat(sc.Dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("dir %s: not a readable folder", sc.Dir)
		}
		opts.Lossless = true // each file is a different picture
		return scan.NewFrameScanner(&scan.Dir{Path: sc.Dir}, opts), nil
	case sc.URL != "":
		return scan.NewFrameScanner(&scan.HTTPMJPEG{URL: sc.URL, Reconnect: time.Second}, opts), nil // IP cameras drop streams
	}
	return nil, errors.New("no scanner source: give serial, camera, dir or url")
}

// simulatorHandler feeds a simulated input for integrators:
// POST /v1/simulator/present {"card":"mastercard"} (the next payment's
// card) and POST /v1/simulator/scan {"code":"1345..."} (the code held to
// the simulated scanner). It answers {"presented": value}.
func simulatorHandler(field string, feed func(string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var b map[string]string
		dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, 4096))
		if err := dec.Decode(&b); err != nil || len(b) != 1 || b[field] == "" {
			api.WriteError(w, &api.Error{Status: http.StatusBadRequest, Code: api.CodeInvalidRequest, Field: field, Message: fmt.Sprintf("want {%q: VALUE}", field)})
			return
		}
		if err := feed(b[field]); err != nil {
			api.WriteError(w, &api.Error{Status: http.StatusBadRequest, Code: api.CodeInvalidRequest, Field: field, Message: err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"presented": b[field]})
	})
}

// newLogger is the daemon's slog logger: JSON (or text) with every string
// and error passed through offline.MaskDigits, so that no PAN-like digit
// run reaches the log even from a peer's error text.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: maskAttr}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func maskAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(offline.MaskDigits(a.Value.String()))
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case error:
			a.Value = slog.StringValue(offline.MaskDigits(v.Error()))
		case fmt.Stringer:
			a.Value = slog.StringValue(offline.MaskDigits(v.String()))
		}
	}
	return a
}
