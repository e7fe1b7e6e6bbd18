package acqsim

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"posagent/emv/cardsim/perso"
	"strings"
	"time"

	"posagent/emv/arqc"
	"posagent/qr"
	"posagent/uplink"
)

// FaultKind is a misbehaviour of the simulated host.
type FaultKind string

// Fault kinds. docs/iso8583.md describes what each does on the wire.
const (
	FaultNone         FaultKind = ""
	FaultDown         FaultKind = "down"          // accept and close at once (per run only)
	FaultDropBefore   FaultKind = "drop_before"   // close the connection on reading the message, unprocessed
	FaultDropAfter    FaultKind = "drop_after"    // process and journal, then close without answering
	FaultGarbage      FaultKind = "garbage"       // answer with random bytes in a valid frame
	FaultBadBitmap    FaultKind = "bad_bitmap"    // answer with a bitmap announcing absent fields
	FaultTruncated    FaultKind = "truncated"     // answer with the last bytes of the message cut off
	FaultMissingField FaultKind = "missing_field" // answer without field 39
	FaultBadLength    FaultKind = "bad_length"    // frame header longer than the message, then close
)

// Fault is a fault selected for a run or a rule.
type Fault struct {
	Kind  FaultKind     `json:"kind,omitempty"`
	Delay time.Duration `json:"-"` // answer after this long
	// CloseAfter closes the connection after this many messages (per run:
	// counted per connection; per rule: messages matching the rule on the
	// connection). 0 = never.
	CloseAfter int `json:"close_after,omitempty"`
}

var validFaults = map[FaultKind]bool{FaultNone: true, FaultDown: true, FaultDropBefore: true,
	FaultDropAfter: true, FaultGarbage: true, FaultBadBitmap: true, FaultTruncated: true,
	FaultMissingField: true, FaultBadLength: true}

// ParseFault reads a fault name (as in the rules file and --fault).
func ParseFault(s string) (FaultKind, error) {
	k := FaultKind(s)
	if !validFaults[k] {
		return "", fmt.Errorf("acqsim: unknown fault %q", s)
	}
	return k, nil
}

// Rule matches messages and says how to answer them. Empty criteria match
// everything; the first matching rule of a Rules applies.
type Rule struct {
	Name string `json:"name,omitempty"`
	// Criteria.
	MTI       []string `json:"mti,omitempty"`        // request MTIs, e.g. ["0200","0100"]
	Amount    *int64   `json:"amount,omitempty"`     // exact amount
	MinAmount *int64   `json:"min_amount,omitempty"` // amount >= this
	MaxAmount *int64   `json:"max_amount,omitempty"` // amount <= this
	PANFrom   string   `json:"pan_from,omitempty"`   // PAN range, compared on the bound's length
	PANTo     string   `json:"pan_to,omitempty"`
	MCC       []string `json:"mcc,omitempty"`
	Terminal  string   `json:"terminal,omitempty"`
	// QRFormat matches QR payments by the format of field 62 ("wechat-pay",
	// "alipay", "unionpay", "emvco-cpm", "emvco-mpm").
	QRFormat []string `json:"qr_format,omitempty"`
	// Behaviour.
	ResponseCode string    `json:"response_code,omitempty"` // e.g. "51"; empty = approve
	Delay        Duration  `json:"delay,omitempty"`         // e.g. "2s"
	Fault        FaultKind `json:"fault,omitempty"`
	CloseAfter   int       `json:"close_after,omitempty"`
	SkipARQC     bool      `json:"skip_arqc,omitempty"` // approve without verifying the cryptogram
}

// Duration is a time.Duration written as "1.5s" in JSON.
type Duration time.Duration

// UnmarshalJSON reads "250ms" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("duration must be a string like \"2s\"")
	}
	*d = Duration(n)
	return nil
}

// MarshalJSON writes "2s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Rules is the rules file: rules in order, and issuer keys.
type Rules struct {
	Rules []Rule `json:"rules"`
	// IssuerKeys maps a scheme ("visa", "mastercard", "unionpay") to a hex
	// issuer master key (AC). Missing schemes use perso.TestMasterKey.
	IssuerKeys map[string]string `json:"issuer_keys,omitempty"`

	keys map[string]arqc.Key
}

// LoadRules reads and checks a rules file.
func LoadRules(path string) (*Rules, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("acqsim: reading rules: %w", err)
	}
	return ParseRules(raw)
}

// ParseRules reads and checks rules JSON.
func ParseRules(raw []byte) (*Rules, error) {
	var r Rules
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("acqsim: rules: %w", err)
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *Rules) check() error {
	for i, rule := range r.Rules {
		where := fmt.Sprintf("acqsim: rule %d (%s)", i, rule.Name)
		if !validFaults[rule.Fault] {
			return fmt.Errorf("%s: unknown fault %q", where, rule.Fault)
		}
		if rule.Fault == FaultDown {
			return fmt.Errorf("%s: fault down applies per run only", where)
		}
		if rule.ResponseCode != "" && len(rule.ResponseCode) != 2 {
			return fmt.Errorf("%s: response code must be 2 characters", where)
		}
		if (rule.PANFrom == "") != (rule.PANTo == "") || len(rule.PANFrom) != len(rule.PANTo) {
			return fmt.Errorf("%s: pan_from and pan_to must both be set, same length", where)
		}
	}
	r.keys = map[string]arqc.Key{}
	for scheme, h := range r.IssuerKeys {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 16 {
			return fmt.Errorf("acqsim: issuer key for %s must be 32 hex digits", scheme)
		}
		r.keys[scheme] = arqc.Key(b)
	}
	return nil
}

// issuerKey returns the issuer master key of a scheme.
func (r *Rules) issuerKey(scheme string) (arqc.Key, bool) {
	if r != nil {
		if k, ok := r.keys[scheme]; ok {
			return k, true
		}
	}
	return perso.TestMasterKey(scheme)
}

// match returns the first rule matching m, or nil.
func (r *Rules) match(m *uplink.Message) (int, *Rule) {
	if r == nil {
		return -1, nil
	}
	for i := range r.Rules {
		if r.Rules[i].matches(m) {
			return i, &r.Rules[i]
		}
	}
	return -1, nil
}

func (rule *Rule) matches(m *uplink.Message) bool {
	if len(rule.MTI) > 0 && !contains(rule.MTI, m.MTI) {
		return false
	}
	if rule.Amount != nil && (!m.HasAmount || m.Amount != *rule.Amount) {
		return false
	}
	if rule.MinAmount != nil && (!m.HasAmount || m.Amount < *rule.MinAmount) {
		return false
	}
	if rule.MaxAmount != nil && (!m.HasAmount || m.Amount > *rule.MaxAmount) {
		return false
	}
	if rule.PANFrom != "" {
		if m.PAN.IsZero() {
			return false
		}
		d := m.PAN.Digits()
		n := len(rule.PANFrom)
		if len(d) < n {
			return false
		}
		if d[:n] < rule.PANFrom || d[:n] > rule.PANTo {
			return false
		}
	}
	if len(rule.MCC) > 0 && !contains(rule.MCC, m.MCC) {
		return false
	}
	if rule.Terminal != "" && rule.Terminal != m.TerminalID {
		return false
	}
	if len(rule.QRFormat) > 0 && (m.QR == "" || !contains(rule.QRFormat, string(qr.Classify(m.QR)))) {
		return false
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
