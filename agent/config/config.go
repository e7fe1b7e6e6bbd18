// Package config reads the posagent daemon's configuration: one TOML file
// (default /etc/posagent/posagent.toml) over embedded working defaults,
// validated at start. Every problem is a *FieldError naming the file, the
// field and the reason; Load returns all of them at once as Errors.
//
// It also knows where key material lives: the queue key, the device secret
// and the API token sit in their own 0700 key directory, never inside the
// data directory, or come from systemd credentials ($CREDENTIALS_DIRECTORY,
// so LoadCredentialEncrypted= can seal them to a TPM).
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"posagent/agent/nexo"
	"posagent/emv/cardsim"
	firmwareprofiles "posagent/firmware-profiles"
	"posagent/money"
	"posagent/uplink"
)

// DefaultPath is where `posagent serve` looks for its config file.
const DefaultPath = "/etc/posagent/posagent.toml"

//go:embed defaults.toml
var defaultsTOML string

// Defaults returns the embedded defaults as text (what `serve --print-defaults`
// shows and packaging/posagent.toml starts from).
func Defaults() string { return defaultsTOML }

// Config is the daemon's configuration. Durations are TOML strings ("5s").
type Config struct {
	DataDir string `toml:"data_dir"`
	KeyDir  string `toml:"key_dir"`
	// SyncAllStates fsyncs the states that move no money too (created,
	// waiting_for_card, reading): 5 fsyncs per online payment instead of 2,
	// for devices that lose power often (agent.Config.SyncAllStates).
	SyncAllStates bool        `toml:"sync_all_states"`
	Log           Log         `toml:"log"`
	Terminal      Terminal    `toml:"terminal"`
	Acquirer      Acquirer    `toml:"acquirer"`
	Offline       Offline     `toml:"offline"`
	Readers       Readers     `toml:"readers"`
	QR            QR          `toml:"qr"`
	API           API         `toml:"api"`
	Nexo          nexo.Config `toml:"nexo"` // the nexo Sale-to-POI endpoint (docs/nexo.md)

	// File is the file the config was read from ("" = defaults only).
	File string `toml:"-"`
}

// Log configures the slog handler.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // json, text
}

// Terminal identifies the terminal to the acquirer and the card.
type Terminal struct {
	TerminalID   string `toml:"terminal_id"`
	MerchantID   string `toml:"merchant_id"`
	MerchantName string `toml:"merchant_name"`
	MCC          int    `toml:"mcc"`
	Country      int    `toml:"country"`
	Currency     string `toml:"currency"` // ISO 4217 alphabetic
	TestKeys     bool   `toml:"test_keys"`
}

// Acquirer is the ISO 8583 host and its mutual TLS.
type Acquirer struct {
	Address         string        `toml:"address"`
	AcquirerID      string        `toml:"acquirer_id"`
	ClientCert      string        `toml:"client_cert"`
	ClientKey       string        `toml:"client_key"`
	CA              string        `toml:"ca"`
	ServerName      string        `toml:"server_name"`
	Pins            []string      `toml:"pins"`
	ResponseTimeout time.Duration `toml:"response_timeout"`
	ConnectTimeout  time.Duration `toml:"connect_timeout"`
}

// Offline is the offline-approval policy.
type Offline struct {
	Policy           string           `toml:"policy"`      // allow | deny
	FloorLimit       int64            `toml:"floor_limit"` // minor units
	PreauthVoidAfter time.Duration    `toml:"preauth_void_after"`
	Limits           map[string]Limit `toml:"limits"` // by ISO 4217 alphabetic currency, "*" = any other
}

// Limit is one currency's offline limits (zero = no cap on that dimension);
// the fields mean what offline.Limit's do.
type Limit struct {
	PerTransaction int64         `toml:"per_transaction"`
	TotalAmount    int64         `toml:"total_amount"`
	Count          int           `toml:"count"`
	MaxAge         time.Duration `toml:"max_age"`
	CardCount      int           `toml:"card_count"`
	CardAmount     int64         `toml:"card_amount"`
}

// Readers says which inputs take cards.
type Readers struct {
	// PCSC takes cards from PC/SC readers (pcscd): those whose name
	// PCSCMatch matches (a case-insensitive regular expression), or with
	// PCSCMatch "" every reader whose firmware profile is contactless.
	PCSC      bool      `toml:"pcsc"`
	PCSCMatch string    `toml:"pcsc_match"`
	Serial    []Dongle  `toml:"serial"` // mPOS dongles by device path
	Simulated Simulated `toml:"simulated"`
	// Scanners read consumer-presented QR codes ([[readers.scanner]]).
	Scanners []Scanner `toml:"scanner"`
}

// Scanner is one QR input of qr/scan: exactly one of Serial (a serial
// barcode scanner that sends the decoded text), Dir (a watched folder of
// images), Camera (a V4L2 device) or URL (MJPEG over HTTP, an IP camera).
type Scanner struct {
	Name   string        `toml:"name"`
	Serial string        `toml:"serial"`
	Baud   int           `toml:"baud"` // serial speed; 0 = 9600
	EOL    string        `toml:"eol"`  // serial line ending: cr (default), lf, crlf
	Dir    string        `toml:"dir"`
	Camera string        `toml:"camera"`
	URL    string        `toml:"url"`
	Window time.Duration `toml:"window"` // the same code is not read again within it; 0 = 3 s
}

// ScannerEOLs are the serial line endings by their config name.
var ScannerEOLs = map[string]string{"": "\r", "cr": "\r", "lf": "\n", "crlf": "\r\n"}

// QR configures merchant-presented QR payments (POST /v1/payments with
// method qr_merchant): the merchant data of the dynamic codes beside
// [terminal] (name 59, MCC 52, merchant id in 26.01), and how long such a
// payment asks the acquirer whether the wallet has paid.
type QR struct {
	Merchant bool          `toml:"merchant"` // take merchant-presented payments
	GUID     string        `toml:"guid"`     // acquirer's identifier in template 26.00
	City     string        `toml:"city"`     // 60, at most 15 characters
	Country  string        `toml:"country"`  // 58, ISO 3166 alpha-2
	Timeout  time.Duration `toml:"timeout"`  // the wallet must pay within it
	Poll     time.Duration `toml:"poll"`     // between two status requests
}

// PCSCPattern is the compiled PCSCMatch (nil when empty).
func (r Readers) PCSCPattern() (*regexp.Regexp, error) {
	if r.PCSCMatch == "" {
		return nil, nil
	}
	return regexp.Compile("(?i)" + r.PCSCMatch)
}

// Dongle is an mPOS card dongle on a serial device path: Bluetooth RFCOMM
// (/dev/rfcomm0) or USB (/dev/ttyACM0). Paths are never enumerated.
type Dongle struct {
	Path    string `toml:"path"`    // absolute device path
	Profile string `toml:"profile"` // dongle profile id (firmware-profiles/dongles); "" = the fallback
}

// Simulated is the built-in simulated reader (emv/cardsim presets). The
// card of a payment is the one presented through the API
// (POST /v1/simulator/present), else the first by_amount range that
// matches, else Card; with Card "" the reader waits like one nobody taps.
type Simulated struct {
	Enabled bool   `toml:"enabled"`
	Card    string `toml:"card"`
	// QR adds a simulated QR scanner ("qr-simulated"): the code a payment
	// reads is the one shown with POST /v1/simulator/scan.
	QR       bool          `toml:"qr"`
	ByAmount []AmountRange `toml:"by_amount"`
}

// AmountRange chooses a card for amounts in [Min, Max] (Max 0 = no upper
// bound); the first range that matches wins.
type AmountRange struct {
	Min  int64  `toml:"min"`
	Max  int64  `toml:"max"`
	Card string `toml:"card"`
}

// API is the local cashier API.
type API struct {
	Listen         string        `toml:"listen"`
	Socket         string        `toml:"socket"`
	TLSCert        string        `toml:"tls_cert"`
	TLSKey         string        `toml:"tls_key"`
	PaymentTimeout time.Duration `toml:"payment_timeout"`
}

// TLS reports whether the API serves TLS.
func (a API) TLS() bool { return a.TLSCert != "" }

// Default returns the embedded defaults.
func Default() *Config {
	c, err := parse("", defaultsTOML, nil)
	if err != nil {
		panic("config: embedded defaults do not parse: " + err.Error())
	}
	return c
}

// Load reads file over the embedded defaults and validates the result. A
// file that does not exist is an error unless file is "" (defaults only).
// Errors are Errors (a list of *FieldError).
func Load(file string) (*Config, error) {
	if file == "" {
		c := Default()
		return c, c.Validate()
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, Errors{{File: file, Reason: err.Error()}}
	}
	c, err := parse(file, string(b), Default())
	if err != nil {
		return nil, err
	}
	return c, c.Validate()
}

// Parse reads TOML text over the embedded defaults and validates the
// result; file names the source in errors.
func Parse(file, text string) (*Config, error) {
	c, err := parse(file, text, Default())
	if err != nil {
		return nil, err
	}
	return c, c.Validate()
}

func parse(file, text string, base *Config) (*Config, error) {
	c := &Config{}
	if base != nil {
		*c = *base
		// Tables decode into fresh values so a file's limits replace the defaults'.
		c.Offline.Limits = nil
	}
	md, err := toml.Decode(text, c)
	if err != nil {
		fe := &FieldError{File: file, Reason: err.Error()}
		var pe toml.ParseError
		if errors.As(err, &pe) {
			fe.Line, fe.Reason = pe.Position.Line, pe.Message
		}
		return nil, Errors{fe}
	}
	if base != nil && c.Offline.Limits == nil {
		c.Offline.Limits = base.Offline.Limits
	}
	var errs Errors
	for _, k := range md.Undecoded() {
		errs = append(errs, &FieldError{File: file, Field: k.String(), Reason: "unknown field"})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	c.File = file
	return c, nil
}

// Validate checks every field and returns all problems as Errors (nil when
// the config is usable).
func (c *Config) Validate() error {
	var errs Errors
	bad := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{File: c.File, Field: field, Reason: fmt.Sprintf(format, a...)})
	}
	// Paths.
	if !filepath.IsAbs(c.DataDir) {
		bad("data_dir", "must be an absolute path, got %q", c.DataDir)
	}
	if !filepath.IsAbs(c.KeyDir) {
		bad("key_dir", "must be an absolute path, got %q", c.KeyDir)
	}
	if filepath.IsAbs(c.DataDir) && filepath.IsAbs(c.KeyDir) && (within(c.KeyDir, c.DataDir) || within(c.DataDir, c.KeyDir)) {
		bad("key_dir", "must be apart from data_dir (%s): copying the data directory must not copy its keys", c.DataDir)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		bad("log.format", "must be json or text, got %q", c.Log.Format)
	}
	// Terminal.
	t := c.Terminal
	if len(t.TerminalID) != 8 || !printable(t.TerminalID) {
		bad("terminal.terminal_id", "must be 8 printable characters, got %q", t.TerminalID)
	}
	if len(t.MerchantID) != 15 || !printable(t.MerchantID) {
		bad("terminal.merchant_id", "must be 15 printable characters, got %q", t.MerchantID)
	}
	if t.MCC < 0 || t.MCC > 9999 {
		bad("terminal.mcc", "must be 4 digits, got %d", t.MCC)
	}
	if t.Country <= 0 || t.Country > 999 {
		bad("terminal.country", "must be an ISO 3166 numeric code, got %d", t.Country)
	}
	if err := checkCurrency(t.Currency); err != nil {
		bad("terminal.currency", "%v", err)
	}
	// Acquirer.
	a := c.Acquirer
	if _, _, err := net.SplitHostPort(a.Address); err != nil {
		bad("acquirer.address", "must be host:port: %v", err)
	}
	for _, f := range []struct{ name, v string }{{"acquirer.client_cert", a.ClientCert}, {"acquirer.client_key", a.ClientKey}, {"acquirer.ca", a.CA}} {
		if f.v == "" {
			bad(f.name, "required (the acquirer link is mutual TLS)")
		}
	}
	for i, p := range a.Pins {
		if _, err := uplink.ParsePin(p); err != nil {
			bad(fmt.Sprintf("acquirer.pins[%d]", i), "must be a SHA-256 in hex or base64 (optionally sha256/...)")
		}
	}
	if a.ResponseTimeout <= 0 {
		bad("acquirer.response_timeout", "must be more than zero, got %v", a.ResponseTimeout)
	}
	if a.ConnectTimeout <= 0 {
		bad("acquirer.connect_timeout", "must be more than zero, got %v", a.ConnectTimeout)
	}
	// Offline.
	o := c.Offline
	if o.Policy != "allow" && o.Policy != "deny" {
		bad("offline.policy", "must be allow or deny, got %q", o.Policy)
	}
	if o.FloorLimit < 0 {
		bad("offline.floor_limit", "must not be negative, got %d", o.FloorLimit)
	}
	if o.PreauthVoidAfter <= 0 {
		bad("offline.preauth_void_after", "must be more than zero, got %v", o.PreauthVoidAfter)
	}
	for cur, l := range o.Limits {
		if cur != "*" {
			if err := checkCurrency(cur); err != nil {
				bad("offline.limits."+cur, "%v", err)
			}
		}
		if l.PerTransaction < 0 || l.TotalAmount < 0 || l.Count < 0 || l.MaxAge < 0 || l.CardCount < 0 || l.CardAmount < 0 {
			bad("offline.limits."+cur, "limits must not be negative")
		}
	}
	// Readers.
	if _, err := c.Readers.PCSCPattern(); err != nil {
		bad("readers.pcsc_match", "not a regular expression: %v", err)
	}
	for i, d := range c.Readers.Serial {
		field := fmt.Sprintf("readers.serial[%d]", i)
		if !filepath.IsAbs(d.Path) {
			bad(field+".path", "must be an absolute device path, got %q", d.Path)
		}
		if d.Profile != "" {
			set, err := firmwareprofiles.EmbeddedDongles()
			if err == nil {
				if _, ok := set.Lookup(d.Profile); !ok {
					bad(field+".profile", "no dongle profile %q", d.Profile)
				}
			}
		}
	}
	s := c.Readers.Simulated
	if s.Enabled || len(s.ByAmount) > 0 {
		if s.Card != "" && !slices.Contains(cardsim.Presets(), s.Card) {
			bad("readers.simulated.card", "unknown card %q (have %s)", s.Card, strings.Join(cardsim.Presets(), ", "))
		}
		for i, r := range s.ByAmount {
			field := fmt.Sprintf("readers.simulated.by_amount[%d]", i)
			if !slices.Contains(cardsim.Presets(), r.Card) {
				bad(field+".card", "unknown card %q", r.Card)
			}
			if r.Min < 0 || (r.Max != 0 && r.Max < r.Min) {
				bad(field, "min %d, max %d is not a range", r.Min, r.Max)
			}
		}
	}
	names := map[string]bool{}
	for i, sc := range c.Readers.Scanners {
		field := fmt.Sprintf("readers.scanner[%d]", i)
		if sc.Name == "" || !printable(sc.Name) || len(sc.Name) > 32 {
			bad(field+".name", "must be 1 to 32 printable characters, got %q", sc.Name)
		} else if names[sc.Name] {
			bad(field+".name", "%q is the name of another scanner", sc.Name)
		}
		names[sc.Name] = true
		n := 0
		for _, v := range []string{sc.Serial, sc.Dir, sc.Camera, sc.URL} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			bad(field, "give exactly one of serial, dir, camera, url")
		}
		for _, f := range []struct{ name, v string }{{"serial", sc.Serial}, {"dir", sc.Dir}, {"camera", sc.Camera}} {
			if f.v != "" && !filepath.IsAbs(f.v) {
				bad(field+"."+f.name, "must be an absolute path, got %q", f.v)
			}
		}
		if sc.URL != "" && !strings.HasPrefix(sc.URL, "http://") && !strings.HasPrefix(sc.URL, "https://") {
			bad(field+".url", "must be an http:// or https:// URL")
		}
		if _, ok := ScannerEOLs[sc.EOL]; !ok {
			bad(field+".eol", "must be cr, lf or crlf, got %q", sc.EOL)
		}
		if sc.Baud < 0 || sc.Window < 0 {
			bad(field, "baud and window must not be negative")
		}
	}
	if !s.Enabled && !c.Readers.PCSC && len(c.Readers.Serial) == 0 && len(c.Readers.Scanners) == 0 && !c.QR.Merchant {
		bad("readers", "no input: set readers.pcsc = true, name dongles in readers.serial, enable readers.simulated, add a [[readers.scanner]] or qr.merchant")
	}
	// QR.
	if q := c.QR; q.Merchant {
		if q.GUID == "" || !printable(q.GUID) || len(q.GUID) > 32 {
			bad("qr.guid", "must be 1 to 32 printable characters (the acquirer's identifier), got %q", q.GUID)
		}
		if q.City == "" || len([]rune(q.City)) > 15 {
			bad("qr.city", "must be 1 to 15 characters, got %q", q.City)
		}
		if len(q.Country) != 2 || strings.Trim(q.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			bad("qr.country", "must be an ISO 3166 alpha-2 code such as FR, got %q", q.Country)
		}
	}
	if c.QR.Timeout <= 0 || c.QR.Poll <= 0 || c.QR.Poll >= c.QR.Timeout {
		bad("qr", "timeout and poll must be more than zero, poll below timeout (got %v, %v)", c.QR.Timeout, c.QR.Poll)
	}
	// API.
	api := c.API
	if api.Listen == "" && api.Socket == "" {
		bad("api", "neither listen nor socket: the API would be unreachable")
	}
	if api.Listen != "" {
		host, _, err := net.SplitHostPort(api.Listen)
		if err != nil {
			bad("api.listen", "must be host:port: %v", err)
		} else if !Loopback(host) && !api.TLS() {
			bad("api.listen", "%s is not a loopback address: set api.tls_cert and api.tls_key, or listen on 127.0.0.1", api.Listen)
		}
	}
	if (api.TLSCert == "") != (api.TLSKey == "") {
		bad("api.tls_key", "tls_cert and tls_key go together")
	}
	if api.Socket != "" && !filepath.IsAbs(api.Socket) {
		bad("api.socket", "must be an absolute path, got %q", api.Socket)
	}
	if api.PaymentTimeout <= 0 {
		bad("api.payment_timeout", "must be more than zero, got %v", api.PaymentTimeout)
	}
	// nexo.
	if nx := c.Nexo; nx.Enabled {
		if _, _, err := net.SplitHostPort(nx.Listen); nx.Listen != "" && err != nil {
			bad("nexo.listen", "must be host:port: %v", err)
		}
		if _, err := nx.Keyring(); err != nil {
			bad("nexo.keys", "%v", err)
		} else if len(nx.Keys) == 0 && !nx.AllowPlain {
			bad("nexo.keys", "no key and allow_plain off: every message would be refused")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// Loopback reports whether host (an address or "localhost") is a loopback
// address. An empty host (all interfaces) is not.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkCurrency accepts an ISO 4217 alphabetic code (upper case, as the
// API takes it).
func checkCurrency(code string) error {
	if len(code) != 3 || strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return fmt.Errorf("must be an ISO 4217 alphabetic code such as EUR, got %q", code)
	}
	if _, err := money.Parse(code); err != nil {
		return fmt.Errorf("%q is not an ISO 4217 currency", code)
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return false
		}
	}
	return true
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(p))
	return err == nil && (rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))))
}
