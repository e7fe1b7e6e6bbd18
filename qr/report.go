package qr

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"posagent/emv/tlv"
)

// Report is what Inspect finds in a scanned text: the JSON object that
// "posagent qr parse --json" prints. Card data in Fields is masked.
type Report struct {
	Format   Format   `json:"format"`
	Valid    bool     `json:"valid"`
	CRCOK    *bool    `json:"crc_ok,omitempty"` // MPM only
	Errors   []string `json:"errors"`
	Warnings []string `json:"warnings"`
	// Fields: for MPM an object keyed by the two-digit IDs (templates as
	// nested objects keyed by sub-IDs); for CPM the applications and the
	// common data; for wallet codes the masked code.
	Fields any `json:"fields"`
}

// InspectOptions tune Inspect.
type InspectOptions struct {
	// Strict makes EMVCo rule warnings errors (and the payload not valid).
	Strict bool
	// Unmasked shows CPM card data in clear (for a test bench only).
	Unmasked bool
}

// Inspect classifies a scanned text and decodes it for display.
func Inspect(text string, opts InspectOptions) Report {
	text = strings.TrimSpace(text) // a scanner's line ending; no format starts or ends with space
	r := Report{Format: Classify(text), Errors: []string{}, Warnings: []string{}}
	switch r.Format {
	case FormatMPM:
		m, err := DecodeMPM(text)
		if m != nil {
			ok := m.CRCOK
			r.CRCOK = &ok
			r.Fields = mpmJSON(m.Fields)
		} else {
			f := false
			r.CRCOK = &f
		}
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
		}
		if m != nil {
			for _, w := range m.Check() {
				if opts.Strict {
					r.Errors = append(r.Errors, w.Error())
				} else {
					r.Warnings = append(r.Warnings, w.Error())
				}
			}
		}
	case FormatCPM:
		c, err := DecodeCPM(text)
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
		} else {
			r.Fields = cpmJSON(c, opts.Unmasked)
		}
	case FormatWeChat, FormatAlipay, FormatUnionPay:
		w, _ := ParseWalletCode(text)
		r.Fields = map[string]any{"code": w.String(), "length": len(w.code)}
	default:
		r.Errors = append(r.Errors, ErrUnknownFormat.Error())
	}
	r.Valid = len(r.Errors) == 0
	return r
}

// ErrUnknownFormat: the text is none of the payment code formats.
var ErrUnknownFormat = errors.New("qr: not a known payment code format")

// object is a JSON object that keeps its keys in order.
type object []member

type member struct {
	key string
	val any
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeJSON(&b, m.key); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := writeJSON(&b, m.val); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeJSON writes v without HTML escaping ("<8 bytes hidden>" stays
// readable) and without the encoder's newline.
func writeJSON(b *bytes.Buffer, v any) error {
	e := json.NewEncoder(b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1)
	return nil
}

func mpmJSON(fields []Field) object {
	o := make(object, 0, len(fields))
	for _, f := range fields {
		if f.Sub != nil {
			o = append(o, member{f.ID, mpmJSON(f.Sub)})
		} else {
			o = append(o, member{f.ID, f.Value})
		}
	}
	return o
}

func cpmJSON(c *CPM, unmasked bool) object {
	o := object{{"payload_format", "CPV01"}}
	apps := make([]object, 0, len(c.Applications))
	for i := range c.Applications {
		apps = append(apps, cpmDataJSON(&c.Applications[i], unmasked))
	}
	o = append(o, member{"applications", apps})
	if c.Common != nil {
		o = append(o, member{"common", cpmDataJSON(c.Common, unmasked)})
	}
	if len(c.Other) > 0 {
		o = append(o, member{"other", tagsJSON(c.Other, unmasked)})
	}
	return o
}

func cpmDataJSON(d *CPMData, unmasked bool) object {
	var o object
	if d.AID != nil {
		o = append(o, member{"aid", strings.ToUpper(hex.EncodeToString(d.AID))})
	}
	if d.Label != "" {
		o = append(o, member{"label", d.Label})
	}
	if p := d.Account(); !p.IsZero() {
		s := p.String()
		if unmasked {
			s = p.Digits()
		}
		o = append(o, member{"pan", s})
	}
	if d.Track2.Raw() != "" {
		s := d.Track2.String()
		if unmasked {
			s = d.Track2.Raw()
		}
		o = append(o, member{"track2", s})
	}
	if d.Transparent != nil {
		o = append(o, member{"transparent", strings.ToUpper(hex.EncodeToString(d.Transparent))})
	}
	o = append(o, member{"tags", tagsJSON(d.Tags, unmasked)})
	return o
}

// tagsJSON shows each object as tlv.ShowValue does (masked by the EMV
// dictionary's sensitivity), keyed by tag.
func tagsJSON(list []tlv.TLV, unmasked bool) object {
	o := make(object, 0, len(list))
	for _, t := range list {
		o = append(o, member{t.Tag.String(), tlv.ShowValue(t.Tag, t.Value, unmasked)})
	}
	return o
}
