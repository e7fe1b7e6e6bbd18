package cardsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"posagent/emv/cardsim/perso"
	"slices"

	"posagent/emv/arqc"
	"posagent/emv/pan"
)

// Kernel kinds a profile can follow. The kind decides how the card answers
// GET PROCESSING OPTIONS and which commands it accepts afterwards.
const (
	// KindQ is Visa qVSDC / UnionPay qPBOC: the card decides in GPO and
	// returns its cryptogram (and the fDDA signature) there.
	KindQ = "q"
	// KindMChip is Mastercard M/Chip: GPO returns AIP and AFL only; the
	// cryptogram comes from GENERATE AC, signed with CDA when asked.
	KindMChip = "mchip"
	// KindGeneric is the EMV full flow of the other schemes: GPO format 1,
	// INTERNAL AUTHENTICATE (DDA) and GENERATE AC (with CDA when asked).
	KindGeneric = "generic"
)

// Fault is a deliberate misbehaviour of a hostile card. Each one must lead a
// correct terminal to a clear outcome (declined, end application, try
// again), never a panic.
type Fault uint8

// Faults of the hostile presets.
const (
	FaultNone Fault = iota
	// FaultBadTLV: the GPO answer holds an object that overruns its
	// template (malformed TLV).
	FaultBadTLV
	// FaultBadLength: the first record holds a PAN object declaring an
	// impossible length (4-byte length form, about 4 GB).
	FaultBadLength
	// FaultMissingPAN: the card has neither PAN (5A) nor track 2 (57):
	// mandatory data missing.
	FaultMissingPAN
	// FaultRecordNotFound: the AFL names a record the card does not hold
	// (READ RECORD answers 6A83).
	FaultRecordNotFound
	// FaultBadSignature: every dynamic signature (fDDA, DDA, CDA) has one
	// byte flipped.
	FaultBadSignature
	// FaultExpiredCert: the ICC public key certificate expired in 12/20.
	FaultExpiredCert
	// FaultGPO6985: GET PROCESSING OPTIONS answers 6985 (conditions of use
	// not satisfied).
	FaultGPO6985
	// FaultWrongAnswer: GET PROCESSING OPTIONS answers with the SELECT FCI
	// (the answer to another command) and 9000.
	FaultWrongAnswer
	// FaultBlocked: SELECT of the application answers 6A81 (blocked).
	FaultBlocked
	// FaultUnexpectedSW: READ RECORD answers 6F00 (no precise diagnosis).
	FaultUnexpectedSW
	// FaultRemoved: after answering its first GET PROCESSING OPTIONS the
	// card leaves the field: Transmit fails with ErrRemoved until Reset.
	// Presented again (after Reset) it completes normally.
	FaultRemoved
	// FaultLastRecord6985: the last record the AFL names answers 6985
	// (conditions of use not satisfied) after the others were read: the
	// application cannot be used here and the terminal selects the next one.
	FaultLastRecord6985
	numFaults
)

var faultNames = [...]string{"none", "bad-tlv", "bad-length", "missing-pan", "record-not-found",
	"bad-signature", "expired-cert", "gpo-6985", "wrong-answer", "blocked", "unexpected-sw", "removed", "last-record-6985"}

// String names the fault.
func (f Fault) String() string {
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("fault(%d)", uint8(f))
}

// Profile is everything a software card is personalised with. Preset
// returns complete profiles; a caller may change any field before New
// (PAN, expiry, limits, AIP...). Amounts are in minor units of the card's
// currency.
type Profile struct {
	Name   string // preset name, for people
	Scheme string // "visa", "mastercard", "unionpay", "amex": picks test keys
	Kind   string // KindQ, KindMChip or KindGeneric

	AID      []byte // application identifier (4F / 84)
	Label    string // application label (50)
	Priority byte   // application priority indicator (87)
	KernelID byte   // kernel identifier in the PPSE (9F2A), 0 = absent

	PAN       string // digits
	Expiry    string // YYMMDD (5F24)
	Effective string // YYMMDD (5F25)
	PSN       byte   // PAN sequence number, BCD (5F34)
	AIP       [2]byte
	Country   uint16 // issuer country code, numeric (5F28)
	Currency  uint16 // application currency code, numeric (9F42)
	Language  string // language preference (5F2D)
	AUC       [2]byte

	// PDOL is the card's processing options data object list (9F38); nil
	// means none.
	PDOL []byte
	// OfflineLimit: a qVSDC/qPBOC card approves offline (TC) up to and
	// including it when the reader allows; an M/Chip card turns a TC
	// request above it into an ARQC. 0 makes an online-only card.
	OfflineLimit int64
	// CVMLimit is the amount X of the CVM list (8E): above it the card asks
	// for online PIN (then signature), at or below it no CVM.
	CVMLimit int64
	// CDCVM: a mobile device that verifies the cardholder itself (qVSDC
	// CTQ "consumer device CVM performed" when the reader asks for a CVM).
	CDCVM bool
	// PreferOnlinePIN: a qVSDC card asks for online PIN (and goes online)
	// when the reader needs a CVM and supports online PIN; otherwise it
	// asks for a signature.
	PreferOnlinePIN bool
	// CTQ is the base card transaction qualifiers (9F6C); the card adds
	// the CVM bits per transaction.
	CTQ [2]byte
	// CVMList overrides the CVM list (8E) built from CVMLimit.
	CVMList []byte
	// Issuer action codes (9F0D default, 9F0E denial, 9F0F online).
	IACDefault, IACDenial, IACOnline [5]byte
	// ATC is the application transaction counter before the first GPO.
	ATC uint16
	// IMK is the issuer master key (AC) the ICC master key is derived from.
	IMK arqc.Key
	// CertExpiry is the MMYY expiry of the issuer certificate; the ICC
	// certificate expires with the card.
	CertExpiry string
	// CARID overrides the RID the test CA is filed under (the amex card
	// uses the Visa test CA key under RID A000000025). Zero = the CA's.
	CARID [5]byte
	// Track2Only: the card carries no PAN object (5A), only track 2
	// equivalent data (57), as some cards and wallets do.
	Track2Only bool
	// NoPSN: the card has no PAN sequence number (5F34).
	NoPSN bool
	// Fault makes the card hostile; FaultNone for a well-behaved card.
	Fault Fault
	// Description says in one line what the preset is for and what a
	// correct terminal should conclude.
	Description string
}

// MaskedPAN shows the PAN masked by emv/pan's rule (first 6 + last 4).
func (p Profile) MaskedPAN() string { return pan.Mask(p.PAN) }

// String describes the profile for people and logs, with the PAN masked;
// %v, %+v and %#v all use it.
func (p Profile) String() string {
	return fmt.Sprintf("cardsim.Profile{%s %s %s PAN %s exp %s fault %s}", p.Name, p.Scheme, p.Kind, p.MaskedPAN(), p.Expiry, p.Fault)
}

// GoString masks the PAN in %#v as String does.
func (p Profile) GoString() string { return p.String() }

// Format masks for every verb.
func (p Profile) Format(f fmt.State, verb rune) { fmt.Fprint(f, p.String()) }

// MarshalText masks as String does.
func (p Profile) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// MarshalJSON writes the profile's public description with the PAN masked
// and no key.
func (p Profile) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name, Scheme, Kind, PAN, Expiry, Fault string
	}{p.Name, p.Scheme, p.Kind, p.MaskedPAN(), p.Expiry, p.Fault.String()})
}

// LogValue gives slog the masked description.
func (p Profile) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", p.Name), slog.String("scheme", p.Scheme),
		slog.String("pan", p.MaskedPAN()), slog.String("fault", p.Fault.String()))
}

// Errors of Preset and New.
var (
	// ErrUnknownPreset: no preset has that name.
	ErrUnknownPreset = errors.New("cardsim: unknown preset")
	// ErrProfile: a profile field is unusable; see ProfileError.
	ErrProfile = errors.New("cardsim: bad profile")
)

// ProfileError names the profile field New refused. It never holds the PAN.
type ProfileError struct {
	Field string
	Err   error
}

func (e *ProfileError) Error() string { return fmt.Sprintf("cardsim: profile %s: %v", e.Field, e.Err) }

// Unwrap returns ErrProfile and the cause.
func (e *ProfileError) Unwrap() []error { return []error{ErrProfile, e.Err} }

// Standard data object lists of the presets.
var (
	// qPDOL: TTQ, amounts, country, TVR, currency, date, type, UN.
	qPDOL = []byte{0x9F, 0x66, 0x04, 0x9F, 0x02, 0x06, 0x9F, 0x03, 0x06, 0x9F, 0x1A, 0x02,
		0x95, 0x05, 0x5F, 0x2A, 0x02, 0x9A, 0x03, 0x9C, 0x01, 0x9F, 0x37, 0x04}
	// cdol1 as M/Chip cards carry it.
	cdol1 = []byte{0x9F, 0x02, 0x06, 0x9F, 0x03, 0x06, 0x9F, 0x1A, 0x02, 0x95, 0x05,
		0x5F, 0x2A, 0x02, 0x9A, 0x03, 0x9C, 0x01, 0x9F, 0x37, 0x04, 0x9F, 0x35, 0x01,
		0x9F, 0x45, 0x02, 0x9F, 0x4C, 0x08, 0x9F, 0x34, 0x03}
	// cdol2: authorisation response code, TVR, UN, ICC dynamic number.
	cdol2 = []byte{0x8A, 0x02, 0x95, 0x05, 0x9F, 0x37, 0x04, 0x9F, 0x4C, 0x08}
	// ddol: the unpredictable number.
	ddol = []byte{0x9F, 0x37, 0x04}
)

func testIMK(scheme string) arqc.Key {
	k, _ := perso.TestMasterKey(scheme)
	return k
}

func visaProfile() Profile {
	return Profile{
		Name: "visa", Scheme: "visa", Kind: KindQ,
		AID: []byte{0xA0, 0, 0, 0, 0x03, 0x10, 0x10}, Label: "VISA CREDIT", Priority: 1, KernelID: 3,
		PAN: "4761739001010010", Expiry: "301231", Effective: "240101", PSN: 0x01,
		AIP: [2]byte{0x20, 0x00}, Country: 250, Currency: 978, Language: "fren",
		AUC: [2]byte{0xFF, 0x00}, PDOL: qPDOL,
		OfflineLimit: 5000, CVMLimit: 5000, PreferOnlinePIN: true,
		CTQ: [2]byte{0x20, 0x00}, ATC: 0x0010, IMK: testIMK("visa"), CertExpiry: "1231",
		Description: "Visa-like qVSDC card with fDDA: TC up to 50.00 when the reader allows offline, else ARQC",
	}
}

func mastercardProfile() Profile {
	return Profile{
		Name: "mastercard", Scheme: "mastercard", Kind: KindMChip,
		AID: []byte{0xA0, 0, 0, 0, 0x04, 0x10, 0x10}, Label: "MASTERCARD", Priority: 1, KernelID: 2,
		PAN: "5413330089010434", Expiry: "301231", Effective: "240101", PSN: 0x00,
		AIP: [2]byte{0x19, 0x80}, Country: 250, Currency: 978, Language: "enfr",
		AUC:          [2]byte{0xFF, 0x00},
		OfflineLimit: 5000, CVMLimit: 5000,
		IACDefault: [5]byte{0xB4, 0x50, 0x84, 0x00, 0x00},
		IACDenial:  [5]byte{0x00, 0x00, 0x00, 0x00, 0x00},
		IACOnline:  [5]byte{0xB4, 0x70, 0x84, 0x80, 0x00},
		ATC:        0x0020, IMK: testIMK("mastercard"), CertExpiry: "1231",
		Description: "Mastercard-like M/Chip card with CDA: GENERATE AC, TC up to 50.00, online PIN above",
	}
}

func unionpayProfile() Profile {
	p := visaProfile()
	p.Name, p.Scheme = "unionpay", "unionpay"
	p.AID = []byte{0xA0, 0, 0, 0x03, 0x33, 0x01, 0x01, 0x01}
	p.Label, p.KernelID = "UnionPay Debit", 7
	p.PAN = "6250946000000016"
	p.Language = "zhen"
	p.CTQ = [2]byte{0x00, 0x00}
	p.ATC = 0x0030
	p.IMK = testIMK("unionpay")
	p.Description = "UnionPay-like qPBOC debit card with fDDA under the UnionPay test CA"
	return p
}

func amexProfile() Profile {
	p := mastercardProfile()
	p.Name, p.Scheme, p.Kind = "amex", "amex", KindGeneric
	p.AID = []byte{0xA0, 0, 0, 0, 0x25, 0x01}
	p.Label, p.KernelID = "AMERICAN EXPRESS", 4
	p.PAN = "374245455400126"
	p.PSN = 0x00
	p.AIP = [2]byte{0x39, 0x00} // DDA, CVM, TRM, CDA
	p.ATC = 0x0040
	// No amex test key exists in emv/arqc: the card uses the Visa one.
	p.IMK = testIMK("visa")
	p.CARID = [5]byte{0xA0, 0, 0, 0, 0x25}
	p.Description = "generic-path card (Amex-like AID) with DDA and CDA; its CA is the Visa test CA key filed under RID A000000025"
	return p
}

// presetDef names a profile builder.
type presetDef struct {
	name  string
	build func() Profile
}

// presets lists the builders in the order Presets lists them.
var presets = []presetDef{
	{"visa", visaProfile},
	{"visa-mobile", func() Profile {
		p := visaProfile()
		p.CDCVM = true
		p.PAN = "4761739001010119"
		p.Description = "Visa-like qVSDC phone wallet: consumer device CVM above the CVM limit, TC up to 50.00"
		return p
	}},
	{"visa-online-only", func() Profile {
		p := visaProfile()
		p.OfflineLimit = 0
		p.Description = "Visa-like qVSDC card that never approves offline: always ARQC"
		return p
	}},
	{"mastercard", mastercardProfile},
	{"unionpay", unionpayProfile},
	{"amex", amexProfile},
	{"amex-dda", func() Profile {
		p := amexProfile()
		p.AIP = [2]byte{0x38, 0x00} // DDA, CVM, TRM; no CDA
		p.Description = "generic-path card offering DDA only (INTERNAL AUTHENTICATE), no CDA"
		return p
	}},
	// Hostile and broken cards.
	{"expired-card", func() Profile {
		p := visaProfile()
		p.Expiry = "201231"
		p.Description = "qVSDC card whose application expired 2020-12-31: the card answers an AAC -> declined"
		return p
	}},
	{"bad-tlv", hostile(visaProfile, FaultBadTLV, "GPO answer with an object overrunning its template -> end application")},
	{"bad-length", hostile(visaProfile, FaultBadLength, "record with a PAN declaring a 4 GB length -> end application")},
	{"missing-pan", hostile(visaProfile, FaultMissingPAN, "no PAN (5A) and no track 2 (57) anywhere -> end application")},
	{"record-not-found", hostile(visaProfile, FaultRecordNotFound, "AFL names a record the card lacks (6A83) -> end application")},
	{"bad-signature", func() Profile {
		p := hostile(visaProfile, FaultBadSignature, "fDDA signature corrupted on a TC -> declined (fDDA failed)")()
		p.CTQ = [2]byte{}
		return p
	}},
	{"bad-signature-cda", hostile(mastercardProfile, FaultBadSignature, "M/Chip card whose CDA signature is corrupted -> declined")},
	{"expired-cert", func() Profile {
		p := hostile(visaProfile, FaultExpiredCert, "ICC public key certificate expired 12/20 -> fDDA fails -> declined")()
		p.CTQ = [2]byte{}
		return p
	}},
	{"gpo-6985", hostile(visaProfile, FaultGPO6985, "GPO answers 6985 -> select next; no other application -> end application")},
	{"wrong-answer", hostile(visaProfile, FaultWrongAnswer, "GPO answered with the SELECT FCI -> end application")},
	{"blocked", hostile(visaProfile, FaultBlocked, "SELECT of the application answers 6A81 (blocked) -> no application left -> end application")},
	{"unexpected-sw", hostile(visaProfile, FaultUnexpectedSW, "READ RECORD answers 6F00 -> end application")},
	{"removed", hostile(visaProfile, FaultRemoved, "card leaves the field after its first GPO -> try again; presented again it completes")},
	{"last-record-6985", hostile(visaProfile, FaultLastRecord6985, "last record answers 6985 after the others were read -> select next; no other application -> end application")},
}

func hostile(base func() Profile, f Fault, desc string) func() Profile {
	return func() Profile {
		p := base()
		p.Fault = f
		p.Description = desc
		return p
	}
}

// Presets lists the preset names: the well-behaved cards first, then the
// hostile ones.
func Presets() []string {
	names := make([]string, len(presets))
	for i, p := range presets {
		names[i] = p.name
	}
	return names
}

// Preset returns a fresh copy of the named profile.
func Preset(name string) (Profile, error) {
	i := slices.IndexFunc(presets, func(d presetDef) bool { return d.name == name })
	if i < 0 {
		return Profile{}, fmt.Errorf("%w %q (have %v)", ErrUnknownPreset, name, Presets())
	}
	p := presets[i].build()
	p.Name = name
	return p, nil
}
