package firmwareprofiles

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEmbeddedDongles(t *testing.T) {
	s, err := EmbeddedDongles()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range s.Dongles() {
		ids = append(ids, d.ID)
		if d.TestOnly != (d.ID == "donglesim") {
			t.Errorf("%s: TestOnly %v", d.ID, d.TestOnly)
		}
	}
	if got := strings.Join(ids, ","); got != "ble-uart-bridge,donglesim,generic-t1" {
		t.Fatalf("dongles = %s", got)
	}
	if s.Fallback().ID != "generic-t1" {
		t.Fatalf("fallback %s", s.Fallback().ID)
	}
	d, ok := s.Lookup("donglesim")
	if !ok || !d.CRC || d.BWT != 150*time.Millisecond || d.APDUTimeout != 2*time.Second || d.MaxBlock != 254 {
		t.Fatalf("donglesim = %+v", d)
	}
	if m := s.MatchModel("donglesim 1.0"); m == nil || m.ID != "donglesim" {
		t.Fatalf("MatchModel = %v", m)
	}
	if m := s.MatchModel("Acme Reader"); m != nil {
		t.Fatalf("MatchModel(unknown) = %v", m.ID)
	}
	// The PC/SC set does not see the dongle files.
	pc, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pc.Lookup("donglesim"); ok {
		t.Fatal("PC/SC set holds a dongle profile")
	}
}

const goodDongle = `{
  "name": "Test dongle",
  "baud": 115200,
  "edc": "lrc",
  "max_block": 32,
  "bwt_ms": 100,
  "cwt_ms": 10,
  "timeouts_ms": {"info": 100, "poll": 1000, "apdu": 200, "release": 100, "ui": 100},
  "retries": 2,
  "reconnect_min_ms": 10,
  "reconnect_max_ms": 100,
  "low_battery_percent": 10,
  "max_apdu": 261,
  "source": "test"
}`

func TestParseDongleErrors(t *testing.T) {
	if _, err := ParseDongle("d.json", []byte(goodDongle)); err != nil {
		t.Fatalf("good: %v", err)
	}
	rep := func(old, new string) string {
		if !strings.Contains(goodDongle, old) {
			panic(old)
		}
		return strings.Replace(goodDongle, old, new, 1)
	}
	for _, tc := range []struct{ name, data, field string }{
		{"unknown field", rep(`"retries": 2`, `"retries": 2, "parity": "odd"`), "parity"},
		{"no name", rep(`"Test dongle"`, `""`), "name"},
		{"no source", rep(`"source": "test"`, `"source": ""`), "source"},
		{"baud", rep(`115200`, `115201`), "baud"},
		{"edc", rep(`"lrc"`, `"md5"`), "edc"},
		{"max_block 0", rep(`"max_block": 32`, `"max_block": 0`), "max_block"},
		{"max_block 255", rep(`"max_block": 32`, `"max_block": 255`), "max_block"},
		{"cwt above bwt", rep(`"cwt_ms": 10`, `"cwt_ms": 101`), "cwt_ms"},
		{"timeout missing", rep(`"ui": 100`, `"uii": 100`), "timeouts_ms.ui"},
		{"timeout below bwt", rep(`"apdu": 200`, `"apdu": 50`), "timeouts_ms.apdu"},
		{"retries", rep(`"retries": 2`, `"retries": 0`), "retries"},
		{"reconnect max below min", rep(`"reconnect_max_ms": 100`, `"reconnect_max_ms": 5`), "reconnect_max_ms"},
		{"battery", rep(`"low_battery_percent": 10`, `"low_battery_percent": 101`), "low_battery_percent"},
		{"max_apdu", rep(`"max_apdu": 261`, `"max_apdu": 4`), "max_apdu"},
		{"bad model pattern", rep(`"retries": 2`, `"retries": 2, "models": ["a("]`), "models[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDongle("d.json", []byte(tc.data))
			var pe *ProfileError
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidProfile) || pe.Field != tc.field {
				t.Fatalf("err = %v, want field %s", err, tc.field)
			}
		})
	}
}

func TestLoadDonglesOverride(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "dongles"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, "dongles", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("donglesim.json", strings.Replace(goodDongle, `"max_block": 32`, `"max_block": 8`, 1))
	write("acme.json", goodDongle)
	s, err := LoadDongles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Lookup("donglesim"); d.MaxBlock != 8 {
		t.Fatalf("override not applied: %+v", d)
	}
	if _, ok := s.Lookup("acme"); !ok {
		t.Fatal("added profile missing")
	}
	// The PC/SC loader ignores the dongles folder of the same directory.
	if _, err := Load(dir); err != nil {
		t.Fatalf("Load with a dongles folder: %v", err)
	}
	write("second.json", strings.Replace(goodDongle, `"retries": 2`, `"retries": 2, "fallback": true`, 1))
	if _, err := LoadDongles(dir); !errors.Is(err, ErrInvalidProfile) {
		t.Fatalf("two fallbacks: %v", err)
	}
	write("second.json", "{")
	if _, err := LoadDongles(dir); !errors.Is(err, ErrInvalidProfile) {
		t.Fatalf("bad file: %v", err)
	}
}

func FuzzParseDongle(f *testing.F) {
	f.Add([]byte(goodDongle))
	for _, name := range []string{"dongles/generic-t1.json", "dongles/donglesim.json"} {
		if b, err := embedded.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDongle("fuzz.json", data)
		if err != nil {
			var pe *ProfileError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ProfileError", err)
			}
			return
		}
		if d.MaxBlock < 1 || d.MaxBlock > 254 || d.CWT > d.BWT || d.Retries < 1 {
			t.Fatalf("accepted %+v", d)
		}
	})
}
