package firmwareprofiles

import (
	"bytes"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

//go:embed *.json dongles/*.json
var embedded embed.FS

// Signal is something the agent tells the cardholder through the reader.
type Signal string

// Signals a profile can define.
const (
	SignalIdle    Signal = "idle"    // waiting for a card
	SignalPresent Signal = "present" // present card / card being read
	SignalSuccess Signal = "success" // card read, transaction goes on
	SignalFailure Signal = "failure" // card read failed
)

// Signals lists the signals in a stable order.
func Signals() []Signal { return []Signal{SignalIdle, SignalPresent, SignalSuccess, SignalFailure} }

// Ways to reach LED and buzzer.
const (
	ViaEscape = "escape" // SCardControl with SCARD_CTL_CODE(CtlCode)
	ViaAPDU   = "apdu"   // pseudo-APDU (class FF) through SCardTransmit, needs a card
)

// Limits of a short APDU (ISO 7816-4): header, Lc, 255 data bytes, Le.
const (
	MaxShortAPDU    = 261
	MaxExtendedAPDU = 65544 // header, 3-byte Lc, 65535 data bytes, 2-byte Le
)

// Profile is one reader model. Byte fields are decoded from hex.
type Profile struct {
	ID          string   // file name without .json
	Name        string   // model, e.g. "ACS ACR122U"
	Vendor      string   //
	Match       []string // reader-name patterns (case-insensitive regexps)
	Exclude     []string // reader names matching one of these are not this profile
	Fallback    bool     // used for readers no other profile matches
	TestOnly    bool     // a test driver; never expected on a production device
	Contactless bool
	LEDBuzzer   *LEDBuzzer // nil: the host cannot drive LED or buzzer
	UIDCommand  []byte     // APDU returning the card's UID (PC/SC part 3: FF CA 00 00 00)
	Extended    bool       // extended-length APDUs pass through
	MaxAPDU     int        // longest command APDU in bytes
	Quirks      []string
	Source      string // where the facts come from

	match, exclude []*regexp.Regexp
}

// LEDBuzzer says how to reach the reader's LED and buzzer.
type LEDBuzzer struct {
	Via     string // ViaEscape or ViaAPDU
	CtlCode uint16 // SCARD_CTL_CODE function with ViaEscape (1: pcsc-lite CCID escape)
	// Commands per signal, sent in order. A signal without commands is not
	// shown by this reader.
	Commands map[Signal][][]byte
}

// Matches reports whether the profile is meant for the reader name.
func (p *Profile) Matches(reader string) bool {
	for _, re := range p.exclude {
		if re.MatchString(reader) {
			return false
		}
	}
	for _, re := range p.match {
		if re.MatchString(reader) {
			return true
		}
	}
	return false
}

// file is the on-disk form; hex strings may contain spaces.
type file struct {
	Name        string         `json:"name"`
	Vendor      string         `json:"vendor"`
	Match       []string       `json:"match"`
	Exclude     []string       `json:"exclude"`
	Fallback    bool           `json:"fallback"`
	TestOnly    bool           `json:"test_only"`
	Contactless *bool          `json:"contactless"`
	LEDBuzzer   *ledBuzzerFile `json:"led_buzzer"`
	UIDCommand  string         `json:"uid_command"`
	Extended    bool           `json:"extended_apdu"`
	MaxAPDU     int            `json:"max_apdu"`
	Quirks      []string       `json:"quirks"`
	Source      string         `json:"source"`
	Comment     string         `json:"comment"` // free text for maintainers
}

type ledBuzzerFile struct {
	Via      string              `json:"via"`
	CtlCode  int                 `json:"ctl_code"`
	Commands map[string][]string `json:"commands"`
}

// ErrInvalidProfile is matched by every *ProfileError.
var ErrInvalidProfile = errors.New("invalid reader profile")

// ProfileError is a profile refused at load.
type ProfileError struct {
	File   string // file name (or path for an override)
	Field  string // JSON field path, e.g. "led_buzzer.commands.success[0]"; empty for the whole file
	Reason string
}

func (e *ProfileError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("reader profile %s: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("reader profile %s: field %s: %s", e.File, e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidProfile) true.
func (e *ProfileError) Is(target error) bool { return target == ErrInvalidProfile }

// maxFile bounds a profile file: they are a few hundred bytes.
const maxFile = 64 << 10

// Parse decodes and checks one profile file. name is used in errors and,
// without its extension, as the profile ID.
func Parse(name string, data []byte) (*Profile, error) {
	bad := func(field, format string, args ...any) error {
		return &ProfileError{File: name, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	var f file
	if err := decodeStrict(name, data, &f); err != nil {
		return nil, err
	}

	p := &Profile{
		ID:       strings.TrimSuffix(filepath.Base(name), filepath.Ext(name)),
		Name:     strings.TrimSpace(f.Name),
		Vendor:   strings.TrimSpace(f.Vendor),
		Exclude:  f.Exclude,
		Match:    f.Match,
		Fallback: f.Fallback,
		TestOnly: f.TestOnly,
		Extended: f.Extended,
		MaxAPDU:  f.MaxAPDU,
		Quirks:   f.Quirks,
		Source:   strings.TrimSpace(f.Source),
	}
	if p.Name == "" {
		return nil, bad("name", "missing")
	}
	if p.Source == "" {
		return nil, bad("source", "missing: say where the facts come from")
	}
	if f.Contactless == nil {
		return nil, bad("contactless", "missing: true or false")
	}
	p.Contactless = *f.Contactless
	if len(f.Match) == 0 && !f.Fallback {
		return nil, bad("match", "no reader-name pattern (only the fallback profile may have none)")
	}
	if len(f.Match) > 0 && f.Fallback {
		return nil, bad("match", "the fallback profile matches by default and takes no pattern")
	}
	var err error
	if p.match, err = compile(f.Match, "match", bad); err != nil {
		return nil, err
	}
	if p.exclude, err = compile(f.Exclude, "exclude", bad); err != nil {
		return nil, err
	}
	switch {
	case f.MaxAPDU == 0:
		return nil, bad("max_apdu", "missing")
	case f.MaxAPDU < 5:
		return nil, bad("max_apdu", "%d is shorter than a command header", f.MaxAPDU)
	case !f.Extended && f.MaxAPDU > MaxShortAPDU:
		return nil, bad("max_apdu", "%d is longer than a short APDU (%d) and extended_apdu is false", f.MaxAPDU, MaxShortAPDU)
	case f.MaxAPDU > MaxExtendedAPDU:
		return nil, bad("max_apdu", "%d is longer than an extended APDU (%d)", f.MaxAPDU, MaxExtendedAPDU)
	}
	if f.UIDCommand == "" {
		return nil, bad("uid_command", "missing")
	}
	if p.UIDCommand, err = apdu(f.UIDCommand); err != nil {
		return nil, bad("uid_command", "%v", err)
	}
	for i, q := range f.Quirks {
		if strings.TrimSpace(q) == "" {
			return nil, bad(fmt.Sprintf("quirks[%d]", i), "empty")
		}
	}
	if f.LEDBuzzer != nil {
		if p.LEDBuzzer, err = ledBuzzer(f.LEDBuzzer, bad); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// decodeStrict decodes the one JSON object of a profile file into v,
// refusing files over maxFile, unknown fields and data after the object.
func decodeStrict(name string, data []byte, v any) error {
	if len(data) > maxFile {
		return &ProfileError{File: name, Reason: fmt.Sprintf("file of %d bytes is larger than %d", len(data), maxFile)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(name, data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &ProfileError{File: name, Reason: "data after the profile object"}
	}
	return nil
}

func compile(pats []string, field string, bad func(string, string, ...any) error) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for i, pat := range pats {
		if strings.TrimSpace(pat) == "" {
			return nil, bad(fmt.Sprintf("%s[%d]", field, i), "empty pattern")
		}
		re, err := regexp.Compile("(?i)" + pat)
		if err != nil {
			return nil, bad(fmt.Sprintf("%s[%d]", field, i), "bad pattern: %v", err)
		}
		out = append(out, re)
	}
	return out, nil
}

func ledBuzzer(f *ledBuzzerFile, bad func(string, string, ...any) error) (*LEDBuzzer, error) {
	lb := &LEDBuzzer{Via: f.Via, Commands: map[Signal][][]byte{}}
	switch f.Via {
	case ViaEscape:
		if f.CtlCode <= 0 || f.CtlCode > 0xFFFF {
			return nil, bad("led_buzzer.ctl_code", "%d is not an SCARD_CTL_CODE function (1..65535)", f.CtlCode)
		}
		lb.CtlCode = uint16(f.CtlCode)
	case ViaAPDU:
		if f.CtlCode != 0 {
			return nil, bad("led_buzzer.ctl_code", "only with via %q", ViaEscape)
		}
	case "":
		return nil, bad("led_buzzer.via", "missing: %q or %q", ViaEscape, ViaAPDU)
	default:
		return nil, bad("led_buzzer.via", "%q is neither %q nor %q", f.Via, ViaEscape, ViaAPDU)
	}
	if len(f.Commands) == 0 {
		return nil, bad("led_buzzer.commands", "no signal defined (drop led_buzzer instead)")
	}
	for _, key := range sortedKeys(f.Commands) {
		s := Signal(key)
		if !slices.Contains(Signals(), s) {
			return nil, bad("led_buzzer.commands."+key, "unknown signal (want idle, present, success or failure)")
		}
		if len(f.Commands[key]) == 0 {
			return nil, bad("led_buzzer.commands."+key, "no command")
		}
		for i, h := range f.Commands[key] {
			field := fmt.Sprintf("led_buzzer.commands.%s[%d]", key, i)
			var b []byte
			var err error
			if f.Via == ViaAPDU {
				b, err = apdu(h)
			} else {
				b, err = hexBytes(h)
				if err == nil && len(b) == 0 {
					err = errors.New("empty")
				}
			}
			if err != nil {
				return nil, bad(field, "%v", err)
			}
			lb.Commands[s] = append(lb.Commands[s], b)
		}
	}
	return lb, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// hexBytes decodes hex with optional single spaces between bytes.
func hexBytes(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		return nil, fmt.Errorf("bad hex: %v", err)
	}
	return b, nil
}

// apdu decodes a command APDU and checks its length.
func apdu(s string) ([]byte, error) {
	b, err := hexBytes(s)
	if err != nil {
		return nil, err
	}
	if len(b) < 4 {
		return nil, fmt.Errorf("command APDU of %d bytes is shorter than its 4-byte header", len(b))
	}
	if len(b) > MaxShortAPDU {
		return nil, fmt.Errorf("command APDU of %d bytes is longer than a short APDU", len(b))
	}
	return b, nil
}

// jsonError names the field (type errors, unknown fields) or the line and
// column (syntax errors) of a JSON decoding failure.
func jsonError(name string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := position(data, se.Offset)
		return &ProfileError{File: name, Reason: fmt.Sprintf("JSON syntax error at line %d column %d: %v", line, col, se)}
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(top level)"
		}
		return &ProfileError{File: name, Field: field, Reason: fmt.Sprintf("want %s, got JSON %s", te.Type, te.Value)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ProfileError{File: name, Reason: "empty or truncated file"}
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &ProfileError{File: name, Field: strings.Trim(f, `"`), Reason: "unknown field"}
	}
	return &ProfileError{File: name, Reason: err.Error()}
}

func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col = 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// Set is a loaded set of profiles.
type Set struct {
	profiles []*Profile // sorted by ID; the fallback included
	fallback *Profile
}

// Embedded returns the profiles built into the binary.
func Embedded() (*Set, error) { return Load("") }

// Load reads the embedded profiles, then every *.json file of dir (when dir
// is not empty): a file with the name of an embedded one replaces it, others
// are added. Any malformed file fails the whole load.
func Load(dir string) (*Set, error) {
	byID, err := loadAll(dir, ".", Parse, func(p *Profile) string { return p.ID })
	if err != nil {
		return nil, err
	}
	s := &Set{}
	for _, id := range sortedKeys(byID) {
		p := byID[id]
		s.profiles = append(s.profiles, p)
		if p.Fallback {
			if s.fallback != nil {
				return nil, &ProfileError{File: id + ".json", Field: "fallback", Reason: fmt.Sprintf("a second fallback profile (%s.json is one)", s.fallback.ID)}
			}
			s.fallback = p
		}
	}
	if s.fallback == nil {
		return nil, &ProfileError{File: dir, Field: "fallback", Reason: "no fallback profile in the set"}
	}
	return s, nil
}

// loadAll parses the *.json files of sub (a folder path, "." for the top)
// in the embedded set and then in dir (when not empty): a file of dir with
// the ID of an embedded one replaces it. Any malformed file fails the load.
func loadAll[P any](dir, sub string, parse func(string, []byte) (P, error), id func(P) string) (map[string]P, error) {
	byID := map[string]P{}
	if err := loadFS(embedded, sub, "", parse, id, byID); err != nil {
		return nil, err
	}
	if dir != "" {
		if err := loadFS(os.DirFS(dir), sub, dir, parse, id, byID); err != nil {
			return nil, err
		}
	}
	return byID, nil
}

func loadFS[P any](fsys fs.FS, sub, prefix string, parse func(string, []byte) (P, error), id func(P) string, byID map[string]P) error {
	names, err := fs.Glob(fsys, path.Join(sub, "*.json"))
	if err != nil {
		return err
	}
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return fmt.Errorf("reader profiles: %w", err)
		}
		shown := n
		if prefix != "" {
			shown = filepath.Join(prefix, n)
		}
		p, err := parse(shown, data)
		if err != nil {
			return err
		}
		byID[id(p)] = p
	}
	return nil
}

// Profiles returns every profile, sorted by ID.
func (s *Set) Profiles() []*Profile { return slices.Clone(s.profiles) }

// Lookup returns the profile with the given ID.
func (s *Set) Lookup(id string) (*Profile, bool) {
	for _, p := range s.profiles {
		if p.ID == id {
			return p, true
		}
	}
	return nil, false
}

// Match returns the profile for a reader name: the first (by ID) profile
// whose patterns match, or the fallback. It never returns nil.
func (s *Set) Match(reader string) *Profile {
	for _, p := range s.profiles {
		if !p.Fallback && p.Matches(reader) {
			return p
		}
	}
	return s.fallback
}
