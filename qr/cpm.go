package qr

import (
	"encoding/base64"
	"fmt"
	"strings"

	"posagent/emv/pan"
	"posagent/emv/tlv"
)

// CPM tags (EMV QR Code Specification for Payment Systems, consumer-presented mode).
const (
	TagPayloadFormat   tlv.Tag = 0x85 // "CPV01"
	TagApplication     tlv.Tag = 0x61 // application template, one per application
	TagCommonData      tlv.Tag = 0x62 // common data template
	TagAppTransparent  tlv.Tag = 0x63 // application specific transparent template, inside 61
	TagCommonTransparn tlv.Tag = 0x64 // common data transparent template, inside 62
)

// MaxCPM bounds the base64 text DecodeCPM accepts.
const MaxCPM = 2048

// CPM is a decoded consumer-presented payload. Card data is held in the
// emv/pan types; Tags keep every object (unknown ones too) for the kernel
// and for field 55, and must be masked when shown (tlv.ShowValue does).
type CPM struct {
	Applications []CPMData
	Common       *CPMData  // the common data template 62, nil when absent
	Other        []tlv.TLV // top-level objects other than 85, 61, 62
	Raw          []byte    // the decoded bytes
}

// CPMData is an application template (61) or the common data template (62).
type CPMData struct {
	AID         []byte     // 4F
	Label       string     // 50
	PAN         pan.PAN    // 5A
	Track2      pan.Track2 // 57
	Transparent []byte     // 63 in 61, 64 in 62: kept opaque
	Tags        []tlv.TLV  // every object of the template, in order
}

// DecodeCPM decodes a consumer-presented payload: base64 (padded or not,
// surrounding white space ignored) of BER-TLV starting with 85 "CPV01",
// then one or more application templates 61 and at most one common data
// template 62. A tag twice in one template, a second 62, a bad PAN or
// track 2 are errors; unknown tags are kept.
func DecodeCPM(text string) (*CPM, error) {
	text = strings.TrimSpace(text)
	if len(text) > MaxCPM {
		return nil, &CPMError{Err: fmt.Errorf("%w: %d characters, at most %d", ErrTooLong, len(text), MaxCPM)}
	}
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(text); err != nil {
			return nil, &CPMError{Err: fmt.Errorf("%w: not base64", ErrEncoding)}
		}
	}
	return DecodeCPMBytes(raw)
}

// DecodeCPMBytes decodes the BER-TLV of a consumer-presented payload.
func DecodeCPMBytes(raw []byte) (*CPM, error) {
	list, err := tlv.Parse(raw)
	if err != nil {
		return nil, &CPMError{Err: fmt.Errorf("%w: %w", ErrTLV, err)}
	}
	if len(list) == 0 || list[0].Tag != TagPayloadFormat {
		return nil, &CPMError{Path: "85", Err: ErrFormatIndicator}
	}
	if string(list[0].Value) != "CPV01" {
		return nil, &CPMError{Path: "85", Err: fmt.Errorf("%w: %q, want \"CPV01\"", ErrFormatIndicator, list[0].Value)}
	}
	c := &CPM{Raw: raw}
	for _, o := range list[1:] {
		switch o.Tag {
		case TagPayloadFormat:
			return nil, &CPMError{Path: "85", Err: ErrDuplicate}
		case TagApplication:
			d, err := decodeTemplate(o, TagAppTransparent)
			if err != nil {
				return nil, err
			}
			c.Applications = append(c.Applications, d)
		case TagCommonData:
			if c.Common != nil {
				return nil, &CPMError{Path: "62", Err: ErrDuplicate}
			}
			d, err := decodeTemplate(o, TagCommonTransparn)
			if err != nil {
				return nil, err
			}
			c.Common = &d
		default:
			c.Other = append(c.Other, o)
		}
	}
	if len(c.Applications) == 0 {
		return nil, &CPMError{Path: "61", Err: fmt.Errorf("%w: no application template", ErrNesting)}
	}
	return c, nil
}

func decodeTemplate(o tlv.TLV, transparent tlv.Tag) (CPMData, error) {
	d := CPMData{Tags: o.Children}
	seen := map[tlv.Tag]bool{}
	for _, t := range o.Children {
		path := o.Tag.String() + "." + t.Tag.String()
		if seen[t.Tag] {
			return CPMData{}, &CPMError{Path: path, Err: ErrDuplicate}
		}
		seen[t.Tag] = true
		switch t.Tag {
		case 0x4F:
			d.AID = t.Value
		case 0x50:
			d.Label = string(t.Value)
		case 0x5A:
			p, err := pan.FromBCD(t.Value)
			if err != nil {
				return CPMData{}, &CPMError{Path: path, Err: fmt.Errorf("%w: %w", ErrTLV, err)}
			}
			d.PAN = p
		case 0x57:
			tr, err := pan.ParseTrack2(t.Value)
			if err != nil {
				return CPMData{}, &CPMError{Path: path, Err: fmt.Errorf("%w: %w", ErrTLV, err)}
			}
			d.Track2 = tr
		case transparent:
			d.Transparent = t.Value
		}
	}
	return d, nil
}

// Account returns the PAN of the data: 5A, else the PAN in track 2.
func (d *CPMData) Account() pan.PAN {
	if !d.PAN.IsZero() {
		return d.PAN
	}
	return d.Track2.PAN
}
