package firmwareprofiles

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Dongle is one serial mPOS dongle model (docs/dongle-protocol.md): how to
// open the port and the link settings of the T=1 style block protocol.
// Dongle profiles are the files of the dongles/ folder.
type Dongle struct {
	ID       string
	Name     string
	Vendor   string
	Models   []string // INFO model patterns (case-insensitive regexps) this profile is meant for
	Fallback bool     // the profile used when none is named
	TestOnly bool
	Baud     int
	CRC      bool // EDC: CRC-16 (true) or LRC
	MaxBlock int  // IFS: longest INF of one block, 1..254
	BWT      time.Duration
	CWT      time.Duration
	// Timeouts per command: INFO, POLL (the default wait for a card), APDU,
	// RELEASE, UI.
	InfoTimeout, PollTimeout, APDUTimeout, ReleaseTimeout, UITimeout time.Duration
	Retries                                                          int // attempts of a block before resynchronising
	ReconnectMin, ReconnectMax                                       time.Duration
	LowBattery                                                       int // percent at or below which the battery is shown low
	MaxAPDU                                                          int
	Quirks                                                           []string
	Source                                                           string

	models []*regexp.Regexp
}

// MatchesModel reports whether the profile is meant for a device whose INFO
// gives model.
func (d *Dongle) MatchesModel(model string) bool {
	for _, re := range d.models {
		if re.MatchString(model) {
			return true
		}
	}
	return false
}

type dongleFile struct {
	Name       string         `json:"name"`
	Vendor     string         `json:"vendor"`
	Models     []string       `json:"models"`
	Fallback   bool           `json:"fallback"`
	TestOnly   bool           `json:"test_only"`
	Baud       int            `json:"baud"`
	EDC        string         `json:"edc"`
	MaxBlock   int            `json:"max_block"`
	BWT        int            `json:"bwt_ms"`
	CWT        int            `json:"cwt_ms"`
	Timeouts   map[string]int `json:"timeouts_ms"`
	Retries    int            `json:"retries"`
	ReconnMin  int            `json:"reconnect_min_ms"`
	ReconnMax  int            `json:"reconnect_max_ms"`
	LowBattery int            `json:"low_battery_percent"`
	MaxAPDU    int            `json:"max_apdu"`
	Quirks     []string       `json:"quirks"`
	Source     string         `json:"source"`
	Comment    string         `json:"comment"`
}

// Baud rates a dongle profile may name (termios rates used by serial dongles).
var baudRates = []int{9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600}

// ParseDongle decodes and checks one dongle profile file.
func ParseDongle(name string, data []byte) (*Dongle, error) {
	bad := func(field, format string, args ...any) error {
		return &ProfileError{File: name, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	var f dongleFile
	if err := decodeStrict(name, data, &f); err != nil {
		return nil, err
	}
	d := &Dongle{
		ID:         strings.TrimSuffix(filepath.Base(name), filepath.Ext(name)),
		Name:       strings.TrimSpace(f.Name),
		Vendor:     strings.TrimSpace(f.Vendor),
		Models:     f.Models,
		Fallback:   f.Fallback,
		TestOnly:   f.TestOnly,
		Baud:       f.Baud,
		MaxBlock:   f.MaxBlock,
		Retries:    f.Retries,
		LowBattery: f.LowBattery,
		MaxAPDU:    f.MaxAPDU,
		Quirks:     f.Quirks,
		Source:     strings.TrimSpace(f.Source),
	}
	if d.Name == "" {
		return nil, bad("name", "missing")
	}
	if d.Source == "" {
		return nil, bad("source", "missing: say where the facts come from")
	}
	var err error
	if d.models, err = compile(f.Models, "models", bad); err != nil {
		return nil, err
	}
	if !slices.Contains(baudRates, f.Baud) {
		return nil, bad("baud", "%d is not one of %v", f.Baud, baudRates)
	}
	switch f.EDC {
	case "crc":
		d.CRC = true
	case "lrc":
	default:
		return nil, bad("edc", "%q is neither \"lrc\" nor \"crc\"", f.EDC)
	}
	if f.MaxBlock < 1 || f.MaxBlock > 254 {
		return nil, bad("max_block", "%d is not 1..254 (ISO 7816-3 IFS)", f.MaxBlock)
	}
	ms := func(field string, v, lo, hi int) (time.Duration, error) {
		if v < lo || v > hi {
			return 0, bad(field, "%d ms is not within %d..%d", v, lo, hi)
		}
		return time.Duration(v) * time.Millisecond, nil
	}
	if d.BWT, err = ms("bwt_ms", f.BWT, 10, 30000); err != nil {
		return nil, err
	}
	if d.CWT, err = ms("cwt_ms", f.CWT, 1, f.BWT); err != nil {
		return nil, err
	}
	for _, t := range []struct {
		key string
		dst *time.Duration
		max int
	}{
		{"info", &d.InfoTimeout, 60000}, {"poll", &d.PollTimeout, 65535}, {"apdu", &d.APDUTimeout, 60000},
		{"release", &d.ReleaseTimeout, 60000}, {"ui", &d.UITimeout, 60000},
	} {
		v, ok := f.Timeouts[t.key]
		if !ok {
			return nil, bad("timeouts_ms."+t.key, "missing")
		}
		if *t.dst, err = ms("timeouts_ms."+t.key, v, f.BWT, t.max); err != nil {
			return nil, err
		}
	}
	for _, k := range sortedKeys(f.Timeouts) {
		switch k {
		case "info", "poll", "apdu", "release", "ui":
		default:
			return nil, bad("timeouts_ms."+k, "unknown command (want info, poll, apdu, release, ui)")
		}
	}
	if f.Retries < 1 || f.Retries > 10 {
		return nil, bad("retries", "%d is not 1..10", f.Retries)
	}
	if d.ReconnectMin, err = ms("reconnect_min_ms", f.ReconnMin, 1, 60000); err != nil {
		return nil, err
	}
	if d.ReconnectMax, err = ms("reconnect_max_ms", f.ReconnMax, f.ReconnMin, 600000); err != nil {
		return nil, err
	}
	if f.LowBattery < 0 || f.LowBattery > 100 {
		return nil, bad("low_battery_percent", "%d is not 0..100", f.LowBattery)
	}
	if f.MaxAPDU < 5 || f.MaxAPDU > MaxExtendedAPDU {
		return nil, bad("max_apdu", "%d is not 5..%d", f.MaxAPDU, MaxExtendedAPDU)
	}
	for i, q := range f.Quirks {
		if strings.TrimSpace(q) == "" {
			return nil, bad(fmt.Sprintf("quirks[%d]", i), "empty")
		}
	}
	return d, nil
}

// DongleSet is a loaded set of dongle profiles.
type DongleSet struct {
	dongles  []*Dongle // sorted by ID
	fallback *Dongle
}

// EmbeddedDongles returns the dongle profiles built into the binary.
func EmbeddedDongles() (*DongleSet, error) { return LoadDongles("") }

// LoadDongles reads the embedded dongle profiles, then the dongles/*.json
// files of dir (when not empty), as Load does for PC/SC profiles.
func LoadDongles(dir string) (*DongleSet, error) {
	byID, err := loadAll(dir, "dongles", ParseDongle, func(d *Dongle) string { return d.ID })
	if err != nil {
		return nil, err
	}
	s := &DongleSet{}
	for _, id := range sortedKeys(byID) {
		d := byID[id]
		s.dongles = append(s.dongles, d)
		if d.Fallback {
			if s.fallback != nil {
				return nil, &ProfileError{File: "dongles/" + id + ".json", Field: "fallback", Reason: fmt.Sprintf("a second fallback dongle profile (%s.json is one)", s.fallback.ID)}
			}
			s.fallback = d
		}
	}
	if s.fallback == nil {
		return nil, &ProfileError{File: filepath.Join(dir, "dongles"), Field: "fallback", Reason: "no fallback dongle profile in the set"}
	}
	return s, nil
}

// Dongles returns every dongle profile, sorted by ID.
func (s *DongleSet) Dongles() []*Dongle { return append([]*Dongle(nil), s.dongles...) }

// Fallback is the profile used when none is named.
func (s *DongleSet) Fallback() *Dongle { return s.fallback }

// Lookup returns the dongle profile with the given ID; "" gives the fallback.
func (s *DongleSet) Lookup(id string) (*Dongle, bool) {
	if id == "" {
		return s.fallback, true
	}
	for _, d := range s.dongles {
		if d.ID == id {
			return d, true
		}
	}
	return nil, false
}

// MatchModel returns the first profile (by ID) whose models pattern matches
// an INFO model string, or nil.
func (s *DongleSet) MatchModel(model string) *Dongle {
	for _, d := range s.dongles {
		if d.MatchesModel(model) {
			return d
		}
	}
	return nil
}
