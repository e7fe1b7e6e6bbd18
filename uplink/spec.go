package uplink

import (
	"errors"
	"fmt"
	"os"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
	"github.com/moov-io/iso8583/specs"
)

// Field numbers used by the uplink. docs/iso8583.md describes each one.
const (
	FieldPAN            = 2
	FieldProcessingCode = 3
	FieldAmount         = 4
	FieldTransmission   = 7
	FieldSTAN           = 11
	FieldLocalTime      = 12
	FieldLocalDate      = 13
	FieldExpiry         = 14
	FieldMCC            = 18
	FieldEntryMode      = 22
	FieldPSN            = 23
	FieldCondition      = 25
	FieldAcquirer       = 32
	FieldTrack2         = 35
	FieldRRN            = 37
	FieldAuthCode       = 38
	FieldResponseCode   = 39
	FieldTerminalID     = 41
	FieldMerchantID     = 42
	FieldCurrency       = 49
	FieldICC            = 55
	FieldTransactionID  = 59
	FieldQR             = 62
	FieldNetworkCode    = 70
	FieldOriginal       = 90
)

// requiredFields must be defined by any spec the uplink uses.
var requiredFields = []int{0, 1, FieldPAN, FieldProcessingCode, FieldAmount, FieldTransmission,
	FieldSTAN, FieldLocalTime, FieldLocalDate, FieldExpiry, FieldMCC, FieldEntryMode, FieldPSN,
	FieldCondition, FieldAcquirer, FieldTrack2, FieldRRN, FieldAuthCode, FieldResponseCode,
	FieldTerminalID, FieldMerchantID, FieldCurrency, FieldICC, FieldTransactionID, FieldQR,
	FieldNetworkCode, FieldOriginal}

func str(n int, desc string, pref prefix.Prefixer) *field.String {
	return field.NewString(&field.Spec{Length: n, Description: desc, Enc: encoding.ASCII, Pref: pref})
}

// DefaultSpec returns the posagent ISO 8583:1987 message spec: ASCII fields,
// a binary bitmap (secondary bitmap when fields 65-128 are present), field 55
// binary with a 3-digit ASCII length, the transaction id in private field 59
// and QR payment data in private field 62. Each call returns a new spec.
func DefaultSpec() *iso8583.MessageSpec {
	return &iso8583.MessageSpec{
		Name: "posagent ISO 8583:1987 v1",
		Fields: map[int]field.Field{
			0:                   str(4, "Message Type Indicator", prefix.ASCII.Fixed),
			1:                   field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: encoding.Binary, Pref: prefix.Binary.Fixed}),
			FieldPAN:            str(19, "Primary Account Number", prefix.ASCII.LL),
			FieldProcessingCode: str(6, "Processing Code", prefix.ASCII.Fixed),
			FieldAmount: field.NewNumeric(&field.Spec{Length: 12, Description: "Transaction Amount",
				Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed, Pad: padding.Left('0')}),
			FieldTransmission: str(10, "Transmission Date & Time (MMDDhhmmss UTC)", prefix.ASCII.Fixed),
			FieldSTAN:         str(6, "Systems Trace Audit Number", prefix.ASCII.Fixed),
			FieldLocalTime:    str(6, "Local Transaction Time (hhmmss)", prefix.ASCII.Fixed),
			FieldLocalDate:    str(4, "Local Transaction Date (MMDD)", prefix.ASCII.Fixed),
			FieldExpiry:       str(4, "Expiration Date (YYMM)", prefix.ASCII.Fixed),
			FieldMCC:          str(4, "Merchant Category Code", prefix.ASCII.Fixed),
			FieldEntryMode:    str(3, "POS Entry Mode", prefix.ASCII.Fixed),
			FieldPSN:          str(3, "Card Sequence Number", prefix.ASCII.Fixed),
			FieldCondition:    str(2, "POS Condition Code", prefix.ASCII.Fixed),
			FieldAcquirer:     str(11, "Acquiring Institution Identification Code", prefix.ASCII.LL),
			FieldTrack2:       str(37, "Track 2 Data", prefix.ASCII.LL),
			FieldRRN:          str(12, "Retrieval Reference Number", prefix.ASCII.Fixed),
			FieldAuthCode:     str(6, "Authorization Identification Response", prefix.ASCII.Fixed),
			FieldResponseCode: str(2, "Response Code", prefix.ASCII.Fixed),
			FieldTerminalID:   str(8, "Card Acceptor Terminal Identification", prefix.ASCII.Fixed),
			FieldMerchantID:   str(15, "Card Acceptor Identification Code", prefix.ASCII.Fixed),
			FieldCurrency:     str(3, "Currency Code, Transaction", prefix.ASCII.Fixed),
			FieldICC: field.NewBinary(&field.Spec{Length: 255, Description: "ICC Data - EMV Having Multiple Tags",
				Enc: encoding.Binary, Pref: prefix.ASCII.LLL}),
			FieldTransactionID: str(64, "Transaction Identifier (private)", prefix.ASCII.LL),
			FieldQR:            str(512, "QR Payment Data (private)", prefix.ASCII.LLL),
			FieldNetworkCode:   str(3, "Network Management Information Code", prefix.ASCII.Fixed),
			FieldOriginal:      str(42, "Original Data Elements", prefix.ASCII.Fixed),
		},
	}
}

// ErrSpec means a message spec (usually a JSON spec file) cannot be used.
var ErrSpec = errors.New("uplink: unusable message spec")

// SpecError says why a spec cannot be used.
type SpecError struct {
	Path   string // file, if loaded from one
	Field  int    // field at fault, -1 when the whole spec
	Detail string
	Err    error // cause, if any
}

func (e *SpecError) Error() string {
	msg := "uplink: message spec"
	if e.Path != "" {
		msg += " " + e.Path
	}
	if e.Field >= 0 {
		msg += fmt.Sprintf(": field %d", e.Field)
	}
	msg += ": " + e.Detail
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrSpec and the cause.
func (e *SpecError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrSpec, e.Err}
	}
	return []error{ErrSpec}
}

// ParseSpec reads a moov-io/iso8583 JSON spec and checks that it defines
// every field the uplink uses.
func ParseSpec(raw []byte) (*iso8583.MessageSpec, error) {
	spec, err := specs.ImportJSON(raw)
	if err != nil {
		return nil, &SpecError{Field: -1, Detail: "invalid JSON spec", Err: err}
	}
	if err := CheckSpec(spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// LoadSpec reads a JSON spec file (the moov-io/iso8583 JSON format, as
// written by [SpecJSON]).
func LoadSpec(path string) (*iso8583.MessageSpec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, &SpecError{Path: path, Field: -1, Detail: "reading", Err: err}
	}
	spec, err := ParseSpec(raw)
	if err != nil {
		var se *SpecError
		if errors.As(err, &se) {
			se.Path = path
		}
		return nil, err
	}
	return spec, nil
}

// SpecJSON exports a spec in the moov-io/iso8583 JSON format.
func SpecJSON(spec *iso8583.MessageSpec) ([]byte, error) {
	return specs.ExportJSON(spec)
}

// CheckSpec reports a *SpecError if spec lacks a field the uplink uses or
// has an unusable MTI or bitmap definition.
func CheckSpec(spec *iso8583.MessageSpec) error {
	if spec == nil {
		return &SpecError{Field: -1, Detail: "nil spec"}
	}
	if err := spec.Validate(); err != nil {
		return &SpecError{Field: -1, Detail: "invalid", Err: err}
	}
	for _, id := range requiredFields {
		if _, ok := spec.Fields[id]; !ok {
			return &SpecError{Field: id, Detail: "not defined (the uplink uses it)"}
		}
	}
	if f, ok := spec.Fields[0].(*field.String); !ok || f.Spec().Length != 4 {
		return &SpecError{Field: 0, Detail: "MTI must be a 4-character String field"}
	}
	return nil
}
