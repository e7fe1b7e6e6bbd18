package emv

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"posagent/emv/pan"
)

// Outcome is what the kernel decided (EMVCo Book A outcomes).
type Outcome uint8

// Outcomes.
const (
	OutcomeNone Outcome = iota
	Approved
	Declined
	OnlineRequest
	TryAnotherInterface
	EndApplication
	SelectNext
	TryAgain
)

var outcomeNames = [...]string{"none", "approved", "declined", "online_request", "try_another_interface", "end_application", "select_next", "try_again"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// MarshalText writes the outcome's name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// ODA method names as reported.
const (
	ODANone = "none"
	ODASDA  = "SDA"
	ODADDA  = "DDA"
	ODAFDDA = "fDDA"
	ODACDA  = "CDA"
)

// ODA results.
const (
	ODAOK           = "ok"
	ODAFailed       = "failed"
	ODANotPerformed = "not_performed"
)

// ODAResult says which offline data authentication the card offered, what
// came of it, and with which CA key.
type ODAResult struct {
	Method string `json:"method"`
	Result string `json:"result"`
	CAKey  string `json:"ca_key,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Signature says whether the certificate chain and the card's
	// signature verified, certificate expiry aside ("ok" or "failed";
	// empty when not checked): an old recording whose certificates have
	// since expired still shows that they and its signature are sound.
	Signature string `json:"signature,omitempty"`
	// CertExpiry is "valid" or "expired" (judged at the transaction date;
	// an expired certificate fails ODA whatever Signature says), empty
	// when the certificates were not read.
	CertExpiry string `json:"cert_expiry,omitempty"`
}

// Result is everything a transaction produced. PAN and Track2 mask
// themselves when printed; ICCData holds the field 55 data for the
// acquirer and is never printed by Report.
type Result struct {
	Outcome Outcome
	Kernel  Kernel
	// KernelRan is false when no application reached a kernel.
	KernelRan bool
	AID       []byte
	Label     string
	Scheme    string
	PAN       pan.PAN
	PANSeq    []byte
	Expiry    string // YYMM
	Track2    pan.Track2
	// ODA is nil when the card never gave an AIP.
	ODA *ODAResult
	// CVM performed or required: "no_cvm", "online_pin", "signature", "cdcvm", "".
	CVM string
	// Cryptogram type the card returned: "TC", "ARQC", "AAC" or "".
	Cryptogram string
	TVR        [5]byte
	// Commands is the number of command APDUs sent to the card.
	Commands int
	// ICCData is the TLV data for ISO 8583 field 55 (online requests and
	// advices).
	ICCData []byte
	// Reason says why the outcome is not approved or online, for people.
	Reason string
	// Notes records tolerated card oddities (e.g. a GPO retried without
	// PDOL data).
	Notes []string
	// Candidates lists the applications Entry Point found, in priority order.
	Candidates []string
	// Date is the transaction date and time the kernel used (a replay
	// takes the recorded one from the commands it follows).
	Date time.Time
}

// String is the masked one-line view of the result: PAN first 6 + last 4,
// no track 2, cryptogram or field 55 bytes.
func (r Result) String() string {
	return fmt.Sprintf("emv.Result{%v %s AID %X %s PAN %v cryptogram %s, %d commands}", r.Outcome, r.Kernel, r.AID, r.Scheme, r.PAN, r.Cryptogram, r.Commands)
}

// GoString masks %#v as String does.
func (r Result) GoString() string { return r.String() }

// Format prints String for every verb.
func (r Result) Format(f fmt.State, verb rune) { fmt.Fprint(f, r.String()) }

// MarshalJSON writes the masked Report.
func (r Result) MarshalJSON() ([]byte, error) { return json.Marshal(r.Report()) }

// MarshalText writes String.
func (r Result) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// LogValue logs the masked facts.
func (r Result) LogValue() slog.Value {
	return slog.GroupValue(slog.String("outcome", r.Outcome.String()), slog.String("aid", fmt.Sprintf("%X", r.AID)),
		slog.String("scheme", r.Scheme), slog.String("pan", r.PAN.String()), slog.String("cryptogram", r.Cryptogram))
}

// Report is the JSON shape of a result shared by `trace replay` and `tap`.
// Nullable fields marshal as null when unknown.
type Report struct {
	Outcome    Outcome    `json:"outcome"`
	Kernel     nullString `json:"kernel"`
	AID        nullString `json:"aid"`
	Label      nullString `json:"label"`
	Scheme     string     `json:"scheme"`
	PAN        nullString `json:"pan"`
	Expiry     nullString `json:"expiry"`
	ODA        *ODAResult `json:"oda"`
	CVM        nullString `json:"cvm"`
	Cryptogram nullString `json:"cryptogram"`
	Commands   int        `json:"commands"`
	Reason     string     `json:"reason,omitempty"`
	Notes      []string   `json:"notes,omitempty"`
	// Divergence is set by replay: null, or where and why the kernel left
	// the recording.
	Divergence any `json:"divergence"`
}

// Report returns the printable, masked view of r.
func (r *Result) Report() Report {
	rep := Report{
		Outcome:    r.Outcome,
		AID:        nullString(strings.ToUpper(hex.EncodeToString(r.AID))),
		Label:      nullString(r.Label),
		Scheme:     r.Scheme,
		PAN:        nullString(r.PAN.String()),
		Expiry:     nullString(r.Expiry),
		ODA:        r.ODA,
		CVM:        nullString(r.CVM),
		Cryptogram: nullString(r.Cryptogram),
		Commands:   r.Commands,
		Reason:     r.Reason,
		Notes:      r.Notes,
	}
	if r.KernelRan {
		rep.Kernel = nullString(r.Kernel.String())
	}
	if rep.Scheme == "" {
		rep.Scheme = "other"
	}
	return rep
}

// nullString marshals "" as JSON null.
type nullString string

func (s nullString) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(s))
}

func (s *nullString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = ""
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = nullString(v)
	return nil
}
