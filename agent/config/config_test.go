package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsValidate(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatalf("embedded defaults: %v", err)
	}
	if c.DataDir != "/var/lib/posagent" || c.API.Listen != "127.0.0.1:8484" || c.API.PaymentTimeout != 90*time.Second {
		t.Errorf("defaults: data %q listen %q timeout %v", c.DataDir, c.API.Listen, c.API.PaymentTimeout)
	}
	if c.Offline.PreauthVoidAfter != 168*time.Hour || c.Acquirer.ResponseTimeout != 10*time.Second {
		t.Errorf("durations: %v %v", c.Offline.PreauthVoidAfter, c.Acquirer.ResponseTimeout)
	}
	if c.SyncAllStates {
		t.Error("sync_all_states on by default: an online payment would cost 5 fsyncs")
	}
	if c, err := Parse("t.toml", "sync_all_states = true\n"); err != nil || !c.SyncAllStates {
		t.Errorf("sync_all_states = true: %v %+v", err, c)
	}
}

func TestFileOverDefaults(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "posagent.toml")
	text := `
data_dir = "/srv/pos/data"
key_dir = "/srv/pos/keys"
[terminal]
currency = "CHF"
[offline]
floor_limit = 2500
[offline.limits.CHF]
per_transaction = 2500
max_age = "12h"
[readers]
pcsc = false
[readers.simulated]
enabled = true
card = "mastercard"
[[readers.simulated.by_amount]]
min = 1000
max = 1999
card = "unionpay"
[api]
payment_timeout = "5s"
`
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if c.Terminal.Currency != "CHF" || c.Terminal.TerminalID != "POSAG001" {
		t.Errorf("terminal %+v: file value or default lost", c.Terminal)
	}
	if l := c.Offline.Limits["CHF"]; l.PerTransaction != 2500 || l.MaxAge != 12*time.Hour {
		t.Errorf("limits %+v", c.Offline.Limits)
	}
	if s := c.Readers.Simulated; s.Card != "mastercard" || len(s.ByAmount) != 1 || s.ByAmount[0] != (AmountRange{1000, 1999, "unionpay"}) {
		t.Errorf("simulated %+v", s)
	}
	if c.API.PaymentTimeout != 5*time.Second || c.File != file {
		t.Errorf("api %+v file %q", c.API, c.File)
	}
}

// TestErrors: every bad value is reported with the file, the field and a reason.
func TestErrors(t *testing.T) {
	cases := []struct {
		name, text, field, reason string
	}{
		{"unknown key", "[terminal]\nterminal_idd = \"X\"", "terminal.terminal_idd", "unknown field"},
		{"syntax", "[terminal\n", "", "expected"},
		{"wrong type", "[terminal]\nmcc = \"x\"", "", "mcc"},
		{"terminal id", "[terminal]\nterminal_id = \"SHORT\"", "terminal.terminal_id", "8 printable"},
		{"currency numeric", "[terminal]\ncurrency = \"978\"", "terminal.currency", "alphabetic"},
		{"currency unknown", "[terminal]\ncurrency = \"XQQ\"", "terminal.currency", "not an ISO 4217"},
		{"policy", "[offline]\npolicy = \"maybe\"", "offline.policy", "allow or deny"},
		{"limit currency", "[offline.limits.eur]\ncount = 1", "offline.limits.eur", "alphabetic"},
		{"negative limit", "[offline.limits.EUR]\ncount = -1", "offline.limits.EUR", "negative"},
		{"pin", "[acquirer]\npins = [\"abc\"]", "acquirer.pins[0]", "SHA-256"},
		{"acquirer address", "[acquirer]\naddress = \"nohost\"", "acquirer.address", "host:port"},
		{"no client cert", "[acquirer]\nclient_cert = \"\"", "acquirer.client_cert", "mutual TLS"},
		{"relative data", "data_dir = \"data\"", "data_dir", "absolute"},
		{"keys in data", "data_dir = \"/srv/p\"\nkey_dir = \"/srv/p/keys\"", "key_dir", "apart from data_dir"},
		{"data in keys", "data_dir = \"/srv/k/data\"\nkey_dir = \"/srv/k\"", "key_dir", "apart from data_dir"},
		{"same dir", "data_dir = \"/srv/k\"\nkey_dir = \"/srv/k/\"", "key_dir", "apart from data_dir"},
		{"public listen without TLS", "[api]\nlisten = \"0.0.0.0:8484\"", "api.listen", "not a loopback"},
		{"public listen all", "[api]\nlisten = \":8484\"", "api.listen", "not a loopback"},
		{"half TLS", "[api]\ntls_cert = \"/c.pem\"", "api.tls_key", "together"},
		{"no endpoint", "[api]\nlisten = \"\"", "api", "unreachable"},
		{"timeout", "[api]\npayment_timeout = \"0s\"", "api.payment_timeout", "more than zero"},
		{"bad duration", "[api]\npayment_timeout = \"soon\"", "", "duration"},
		{"card", "[readers.simulated]\nenabled = true\ncard = \"diners\"", "readers.simulated.card", "unknown card"},
		{"range", "[readers.simulated]\nenabled = true\n[[readers.simulated.by_amount]]\nmin = 5\nmax = 2\ncard = \"visa\"", "readers.simulated.by_amount[0]", "not a range"},
		{"pattern", "[readers]\npcsc_match = \"(acr\"", "readers.pcsc_match", "regular expression"},
		{"no reader", "[readers]\npcsc = false", "readers", "no input"},
		{"dongle path", "[[readers.serial]]\npath = \"rfcomm0\"", "readers.serial[0].path", "absolute"},
		{"dongle profile", "[[readers.serial]]\npath = \"/dev/rfcomm0\"\nprofile = \"nope\"", "readers.serial[0].profile", "no dongle profile"},
		{"log level", "[log]\nlevel = \"loud\"", "log.level", "debug, info"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.toml", tc.text)
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v (%T), want Errors", err, err)
			}
			var found *FieldError
			for _, e := range errs {
				if e.Field == tc.field && strings.Contains(e.Reason, tc.reason) {
					found = e
				}
			}
			if found == nil {
				t.Fatalf("no error for field %q containing %q in:\n%v", tc.field, tc.reason, err)
			}
			if found.File != "test.toml" || !strings.HasPrefix(found.Error(), "test.toml") {
				t.Errorf("error %q does not name the file", found.Error())
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("errors.As(*FieldError) fails on %T", err)
			}
		})
	}
}

func TestSyntaxErrorLine(t *testing.T) {
	_, err := Parse("p.toml", "data_dir = \"/a\"\n\n\n\nlog = [\n")
	var errs Errors
	if !errors.As(err, &errs) || errs[0].Line < 5 || !strings.HasPrefix(err.Error(), fmt.Sprintf("p.toml:%d: ", errs[0].Line)) {
		t.Fatalf("err = %v, want a line >= 5", err)
	}
}

func TestTLSAllowsPublicListen(t *testing.T) {
	_, err := Parse("t.toml", "[api]\nlisten = \"0.0.0.0:8443\"\ntls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"")
	if err != nil {
		t.Fatal(err)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.toml"))
	var fe *FieldError
	if !errors.As(err, &fe) || !strings.Contains(fe.Reason, "no such file") || !strings.Contains(err.Error(), "none.toml") {
		t.Fatalf("err = %v", err)
	}
}

func TestKeysApartAndCredentials(t *testing.T) {
	root := t.TempDir()
	c := Default()
	c.DataDir, c.KeyDir = filepath.Join(root, "data"), filepath.Join(root, "keys")
	if err := c.PrepareDirs(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{c.DataDir, c.KeyDir} {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v mode %v", d, err, fi.Mode())
		}
	}
	k := c.keysFrom("")
	for _, p := range []string{k.QueueKey, k.DeviceSecret, k.APIToken} {
		if filepath.Dir(p) != c.KeyDir || within(p, c.DataDir) {
			t.Errorf("key %s not in key_dir %s", p, c.KeyDir)
		}
	}
	if c.DBPath() != filepath.Join(c.DataDir, "queue.db") && filepath.Dir(c.DBPath()) != c.DataDir {
		t.Errorf("DBPath %s", c.DBPath())
	}

	// systemd credentials: a key present there wins; a missing one falls back.
	cred := filepath.Join(root, "cred")
	os.Mkdir(cred, 0o700)
	os.WriteFile(filepath.Join(cred, APITokenName), []byte("tok"), 0o400)
	k = c.keysFrom(cred)
	if k.APIToken != filepath.Join(cred, APITokenName) || k.QueueKey != filepath.Join(c.KeyDir, QueueKeyName) {
		t.Errorf("with credentials: %+v", k)
	}
	t.Setenv(CredentialsEnv, cred)
	if c.Keys() != k {
		t.Errorf("Keys() ignores $%s", CredentialsEnv)
	}
}

func TestPrepareDirsRefuses(t *testing.T) {
	root := t.TempDir()
	c := Default()
	c.DataDir, c.KeyDir = filepath.Join(root, "data"), filepath.Join(root, "keys")
	os.Mkdir(c.KeyDir, 0o755)
	err := c.PrepareDirs()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "key_dir" || !strings.Contains(fe.Reason, "0700") {
		t.Fatalf("open key dir: err = %v", err)
	}
	// A symlink that puts the keys inside the data dir.
	os.Chmod(c.KeyDir, 0o700)
	os.Mkdir(c.DataDir, 0o700)
	inside := filepath.Join(c.DataDir, "k")
	os.Mkdir(inside, 0o700)
	link := filepath.Join(root, "link")
	os.Symlink(inside, link)
	c.KeyDir = link
	if err := c.PrepareDirs(); !errors.As(err, &fe) || !strings.Contains(fe.Reason, "resolves to") {
		t.Fatalf("symlinked key dir: err = %v", err)
	}
}

// TestPackagingExample: the example config in packaging/ is valid.
func TestPackagingExample(t *testing.T) {
	c, err := Load("../../packaging/posagent.toml")
	if err != nil {
		t.Fatal(err)
	}
	re, _ := c.Readers.PCSCPattern()
	if c.Offline.FloorLimit != 2500 || c.Offline.Limits["EUR"].Count != 20 || !c.Readers.PCSC || re == nil || !re.MatchString("ACS ACR1252 Dual Reader PICC 00 00") {
		t.Errorf("example not read as written: %+v", c.Offline)
	}
}

func TestScannersAndQR(t *testing.T) {
	c, err := Parse("t.toml", `
[readers]
pcsc = false
[[readers.scanner]]
name = "counter"
serial = "/dev/ttyACM0"
eol = "crlf"
[[readers.scanner]]
name = "inbox"
dir = "/var/spool/posagent/qr"
[qr]
merchant = true
city = "BERLIN"
country = "DE"
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Readers.Scanners) != 2 || c.Readers.Scanners[1].Dir == "" || ScannerEOLs[c.Readers.Scanners[0].EOL] != "\r\n" || c.QR.Poll != 2*time.Second {
		t.Fatalf("%+v %+v", c.Readers.Scanners, c.QR)
	}
	_, err = Parse("t.toml", `
[readers]
pcsc = false
[[readers.scanner]]
name = "two"
serial = "/dev/ttyACM0"
dir = "/tmp/x"
[[readers.scanner]]
name = "two"
camera = "video0"
eol = "nl"
[qr]
merchant = true
city = "A CITY FAR TOO LONG"
country = "fr"
poll = "5m"
`)
	for _, f := range []string{"readers.scanner[0]", "readers.scanner[1].name", "readers.scanner[1].camera", "readers.scanner[1].eol", "qr.city", "qr.country", "qr"} {
		if !strings.Contains(err.Error(), f+": ") {
			t.Errorf("no error for %s in:\n%v", f, err)
		}
	}
}

func TestSerialDongles(t *testing.T) {
	c, err := Parse("test.toml", "[readers]\npcsc = false\n[[readers.serial]]\npath = \"/dev/rfcomm0\"\n[[readers.serial]]\npath = \"/dev/ttyACM0\"\nprofile = \"ble-uart-bridge\"")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Readers.Serial) != 2 || c.Readers.Serial[0].Path != "/dev/rfcomm0" || c.Readers.Serial[1].Profile != "ble-uart-bridge" {
		t.Fatalf("serial readers %+v", c.Readers.Serial)
	}
}
