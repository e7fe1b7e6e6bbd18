package firmwareprofiles

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEmbedded(t *testing.T) {
	s, err := Embedded()
	if err != nil {
		t.Fatalf("Embedded: %v", err)
	}
	want := []string{"acs-acr122u", "acs-acr1252u", "acs-acr1255u-j1", "feitian-r502", "generic",
		"hid-omnikey-5022", "hid-omnikey-5427ck", "identiv-utrust-3700f", "scm-scl3711", "vpcd"}
	var got []string
	fallbacks := 0
	for _, p := range s.Profiles() {
		got = append(got, p.ID)
		if p.Fallback {
			fallbacks++
		}
		if p.TestOnly != (p.ID == "vpcd") {
			t.Errorf("%s: TestOnly = %v", p.ID, p.TestOnly)
		}
		if p.Source == "" || len(p.UIDCommand) < 4 || p.MaxAPDU < 5 {
			t.Errorf("%s: incomplete profile %+v", p.ID, p)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("profiles = %q, want %q", got, want)
	}
	if fallbacks != 1 {
		t.Errorf("%d fallback profiles, want 1", fallbacks)
	}
}

func TestMatch(t *testing.T) {
	s, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		reader string
		want   string
	}{
		{"ACS ACR122U PICC Interface 00 00", "acs-acr122u"},
		{"ACS ACR1252 1S CL Reader [ACR1252 1S CL Reader PICC] 00 00", "acs-acr1252u"},
		{"ACS ACR1252 1S CL Reader [ACR1252 1S CL Reader SAM] 01 00", "generic"},
		{"ACS ACR1255U-J1 PICC Reader 00 00", "acs-acr1255u-j1"},
		{"Identiv uTrust 3700 F CL Reader [uTrust 3700 F CL Reader] 00 00", "identiv-utrust-3700f"},
		{"HID Global OMNIKEY 5022 Smart Card Reader [OMNIKEY 5022 Smart Card Reader] 00 00", "hid-omnikey-5022"},
		{"HID Global OMNIKEY 5427 CK [OMNIKEY 5427 CK CL] 00 00", "hid-omnikey-5427ck"},
		{"SCM Microsystems Inc. SCL3711 reader & NFC device 00 00", "scm-scl3711"},
		{"Feitian R502 [R502 Contactless Reader] 00 00", "feitian-r502"},
		{"Feitian R502 [R502 Contact Reader] 01 00", "generic"},
		{"Virtual PCD 00 00", "vpcd"},
		{"Virtual PCD 00 01", "vpcd"},
		{"Virtual PCD 00 00 spoofed", "generic"},
		{"acs acr122u picc interface 00 00", "acs-acr122u"},
		{"Gemalto PC Twin Reader 00 00", "generic"},
		{"", "generic"},
	}
	for _, tc := range tests {
		t.Run(tc.reader, func(t *testing.T) {
			if got := s.Match(tc.reader); got == nil || got.ID != tc.want {
				t.Errorf("Match(%q) = %v, want %s", tc.reader, got, tc.want)
			}
		})
	}
}

const good = `{
  "name": "Test reader",
  "match": ["Test"],
  "contactless": true,
  "uid_command": "FF CA 00 00 00",
  "max_apdu": 261,
  "source": "test"
}`

// with returns good with one line replaced or added.
func with(old, new string) string {
	if old == "" {
		return strings.Replace(good, "{\n", "{\n  "+new+",\n", 1)
	}
	if !strings.Contains(good, old) {
		panic("with: " + old)
	}
	return strings.Replace(good, old, new, 1)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, data, field, reason string
	}{
		{"empty file", "", "", "empty"},
		{"syntax", "{\n  \"name\": \"x\",\n  oops\n}", "", "line 3"},
		{"trailing data", good + "{}", "", "data after"},
		{"unknown field", with("", `"colour": "red"`), "colour", "unknown field"},
		{"wrong type", with(`"max_apdu": 261`, `"max_apdu": "261"`), "max_apdu", "want int"},
		{"no name", with(`"name": "Test reader"`, `"name": " "`), "name", "missing"},
		{"no source", with(`"source": "test"`, `"source": ""`), "source", "missing"},
		{"no contactless", strings.Replace(good, `"contactless": true,`, "", 1), "contactless", "missing"},
		{"no match", with(`"match": ["Test"]`, `"match": []`), "match", "no reader-name pattern"},
		{"fallback with match", with("", `"fallback": true`), "match", "fallback"},
		{"bad regexp", with(`"match": ["Test"]`, `"match": ["Test", "a(b"]`), "match[1]", "bad pattern"},
		{"empty exclude", with("", `"exclude": [""]`), "exclude[0]", "empty pattern"},
		{"max_apdu missing", with(`"max_apdu": 261`, `"max_apdu": 0`), "max_apdu", "missing"},
		{"max_apdu tiny", with(`"max_apdu": 261`, `"max_apdu": 4`), "max_apdu", "shorter than a command header"},
		{"max_apdu long without extended", with(`"max_apdu": 261`, `"max_apdu": 262`), "max_apdu", "extended_apdu is false"},
		{"max_apdu too long", with(`"max_apdu": 261`, `"max_apdu": 70000, "extended_apdu": true`), "max_apdu", "longer than an extended APDU"},
		{"uid missing", with(`"uid_command": "FF CA 00 00 00"`, `"uid_command": ""`), "uid_command", "missing"},
		{"uid bad hex", with(`"uid_command": "FF CA 00 00 00"`, `"uid_command": "FF CA 0G 00"`), "uid_command", "bad hex"},
		{"uid short", with(`"uid_command": "FF CA 00 00 00"`, `"uid_command": "FF CA"`), "uid_command", "shorter than its 4-byte header"},
		{"empty quirk", with("", `"quirks": ["ok", " "]`), "quirks[1]", "empty"},
		{"led no via", with("", `"led_buzzer": {"commands": {"success": ["FF 00 40 0E 04 00 00 00 00"]}}`), "led_buzzer.via", "missing"},
		{"led bad via", with("", `"led_buzzer": {"via": "usb", "commands": {"success": ["00"]}}`), "led_buzzer.via", "neither"},
		{"escape no ctl", with("", `"led_buzzer": {"via": "escape", "commands": {"success": ["E0 00"]}}`), "led_buzzer.ctl_code", "SCARD_CTL_CODE"},
		{"apdu with ctl", with("", `"led_buzzer": {"via": "apdu", "ctl_code": 1, "commands": {"success": ["FF 00 40 0E"]}}`), "led_buzzer.ctl_code", "only with via"},
		{"no commands", with("", `"led_buzzer": {"via": "apdu", "commands": {}}`), "led_buzzer.commands", "no signal"},
		{"unknown signal", with("", `"led_buzzer": {"via": "apdu", "commands": {"party": ["FF 00 40 0E"]}}`), "led_buzzer.commands.party", "unknown signal"},
		{"signal empty list", with("", `"led_buzzer": {"via": "apdu", "commands": {"idle": []}}`), "led_buzzer.commands.idle", "no command"},
		{"signal bad hex", with("", `"led_buzzer": {"via": "escape", "ctl_code": 1, "commands": {"failure": ["E0 00 00 2"]}}`), "led_buzzer.commands.failure[0]", "bad hex"},
		{"signal empty escape", with("", `"led_buzzer": {"via": "escape", "ctl_code": 1, "commands": {"failure": [""]}}`), "led_buzzer.commands.failure[0]", "empty"},
		{"signal short apdu", with("", `"led_buzzer": {"via": "apdu", "commands": {"present": ["FF 00 40 0E 04 00 00 00 00", "FF 00"]}}`), "led_buzzer.commands.present[1]", "shorter"},
		{"top level array", "[]", "(top level)", "want firmwareprofiles.file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.json", []byte(tc.data))
			var pe *ProfileError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ProfileError", err)
			}
			if !errors.Is(err, ErrInvalidProfile) {
				t.Errorf("errors.Is(ErrInvalidProfile) false")
			}
			if pe.File != "test.json" || pe.Field != tc.field || !strings.Contains(pe.Reason, tc.reason) {
				t.Errorf("got file %q field %q reason %q; want field %q reason containing %q", pe.File, pe.Field, pe.Reason, tc.field, tc.reason)
			}
		})
	}
}

func TestParseGood(t *testing.T) {
	p, err := Parse("dir/test-reader.json", []byte(with("", `"led_buzzer": {"via": "escape", "ctl_code": 3500, "commands": {"success": ["E0 00 00 29 01 02", "E0 00 00 28 01 0A"]}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "test-reader" || !p.Contactless || p.MaxAPDU != 261 || p.LEDBuzzer.CtlCode != 3500 {
		t.Errorf("profile = %+v", p)
	}
	if got := p.LEDBuzzer.Commands[SignalSuccess]; len(got) != 2 || got[1][4] != 0x01 || got[1][5] != 0x0A {
		t.Errorf("success commands = % X", got)
	}
	if !p.Matches("A TEST reader 00 00") || p.Matches("Other 00 00") {
		t.Errorf("Matches wrong")
	}
}

func TestLoadOverride(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Replace the ACR122U profile (no LED control) and add a new model.
	write("acs-acr122u.json", strings.Replace(good, `"Test"`, `"ACR122"`, 1))
	write("test-reader.json", strings.Replace(good, `"Test"`, `"^Shop reader"`, 1))
	write("notes.txt", "not a profile")
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Match("ACS ACR122U PICC Interface 00 00"); p.ID != "acs-acr122u" || p.LEDBuzzer != nil || p.Name != "Test reader" {
		t.Errorf("override not applied: %+v", p)
	}
	if p := s.Match("Shop reader 00 00"); p.ID != "test-reader" {
		t.Errorf("added profile not matched: %s", p.ID)
	}
	if p, ok := s.Lookup("vpcd"); !ok || !p.TestOnly {
		t.Errorf("embedded vpcd profile lost")
	}

	write("broken.json", with(`"max_apdu": 261`, `"max_apdu": 3`))
	_, err = Load(dir)
	var pe *ProfileError
	if !errors.As(err, &pe) || pe.File != filepath.Join(dir, "broken.json") || pe.Field != "max_apdu" {
		t.Errorf("Load with a broken file: %v", err)
	}
	os.Remove(filepath.Join(dir, "broken.json"))

	write("second-fallback.json", strings.Replace(good, `"match": ["Test"],`, `"fallback": true,`, 1))
	if _, err := Load(dir); !errors.As(err, &pe) || pe.Field != "fallback" {
		t.Errorf("Load with two fallbacks: %v", err)
	}
}

// device records what a profile sends.
type device struct {
	sent   []string
	answer []byte
	err    error
}

func (d *device) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	d.sent = append(d.sent, "apdu "+hexString(apdu))
	return d.answer, d.err
}

func (d *device) Escape(code uint16, in []byte) ([]byte, error) {
	d.sent = append(d.sent, "escape "+string(rune('0'+code%10))+" "+hexString(in))
	return d.answer, d.err
}

func hexString(b []byte) string {
	const digits = "0123456789ABCDEF"
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	return sb.String()
}

func TestSignal(t *testing.T) {
	s, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	ioErr := errors.New("reader gone")
	tests := []struct {
		name    string
		profile string
		signal  Signal
		answer  []byte
		err     error
		sent    []string
		wantErr error
		wantSW  int
	}{
		{"acr122u success", "acs-acr122u", SignalSuccess, []byte{0x90, 0x0E}, nil,
			[]string{"apdu FF 00 40 0E 04 02 00 01 01"}, nil, 0},
		{"acr122u refused", "acs-acr122u", SignalFailure, []byte{0x63, 0x00}, nil,
			[]string{"apdu FF 00 40 0D 04 01 01 03 01"}, nil, 0x6300},
		{"acr1252u failure", "acs-acr1252u", SignalFailure, []byte{0xE1, 0, 0, 0, 1, 1}, nil,
			[]string{"escape 1 E0 00 00 29 01 01", "escape 1 E0 00 00 28 01 32"}, nil, 0},
		{"acr1252u io error", "acs-acr1252u", SignalSuccess, nil, ioErr,
			[]string{"escape 1 E0 00 00 29 01 02"}, ioErr, 0},
		{"acr1255 no present signal", "acs-acr1255u-j1", SignalPresent, nil, nil, nil, ErrNoSignal, 0},
		{"vpcd no signals", "vpcd", SignalSuccess, nil, nil, nil, ErrNoSignal, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := s.Lookup(tc.profile)
			if !ok {
				t.Fatalf("no profile %s", tc.profile)
			}
			d := &device{answer: tc.answer, err: tc.err}
			err := p.Signal(context.Background(), d, tc.signal)
			if strings.Join(d.sent, "|") != strings.Join(tc.sent, "|") {
				t.Errorf("sent %q, want %q", d.sent, tc.sent)
			}
			var se *SignalError
			switch {
			case tc.wantSW != 0:
				if !errors.As(err, &se) || se.SW != tc.wantSW {
					t.Errorf("err = %v, want SW %04X", err, tc.wantSW)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
			case err != nil:
				t.Errorf("err = %v", err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(with("", `"led_buzzer": {"via": "apdu", "commands": {"idle": ["FF 00 40 0D 04 00 00 00 00"]}}`)))
	f.Add([]byte(`{"name":"x","fallback":true,"contactless":false,"uid_command":"FFCA000000","max_apdu":5,"source":"s"}`))
	for _, name := range []string{"acs-acr122u.json", "acs-acr1252u.json", "vpcd.json"} {
		if b, err := embedded.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.json", data)
		if err != nil {
			var pe *ProfileError
			if !errors.As(err, &pe) || pe.File != "fuzz.json" {
				t.Fatalf("error %v is not a *ProfileError for the file", err)
			}
			return
		}
		if p.Name == "" || p.Source == "" || len(p.UIDCommand) < 4 || p.MaxAPDU < 5 || p.MaxAPDU > MaxExtendedAPDU {
			t.Fatalf("accepted an invalid profile: %+v", p)
		}
		if !p.Fallback && len(p.Match) == 0 {
			t.Fatalf("accepted a profile that matches nothing")
		}
		if p.LEDBuzzer != nil {
			for _, s := range Signals() {
				for _, c := range p.LEDBuzzer.Commands[s] {
					if len(c) == 0 {
						t.Fatalf("empty %s command accepted", s)
					}
				}
			}
		}
		_ = p.Matches("ACS ACR122U PICC Interface 00 00")
	})
}

func TestOutcomeSignal(t *testing.T) {
	if OutcomeSignal(true) != SignalSuccess || OutcomeSignal(false) != SignalFailure {
		t.Fatal("OutcomeSignal")
	}
}
