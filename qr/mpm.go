package qr

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Field is one MPM data object: a two-digit ID and its value. For a
// template (IDs 26-51, 62, 64, 80-99) Sub holds the decoded data objects
// and Value their encoding.
type Field struct {
	ID    string
	Value string
	Sub   []Field
}

// MPM is a decoded merchant-presented payload. Fields are in payload order
// and include 63 (the CRC).
type MPM struct {
	Fields []Field
	// CRCOK reports whether ID 63 matched the payload.
	CRCOK bool
}

// IsTemplate reports whether a top-level ID holds nested data objects:
// merchant account information 26-51, additional data 62, merchant
// information in an alternate language 64, unreserved templates 80-99.
func IsTemplate(id string) bool {
	n, ok := twoDigits(id)
	if !ok {
		return false
	}
	return n >= 26 && n <= 51 || n == 62 || n == 64 || n >= 80
}

// MaxPayload bounds the text DecodeMPM accepts (EMVCo: 512 characters; a
// little slack for codes that bend it).
const MaxPayload = 1024

// DecodeMPM decodes a merchant-presented payload. Structural faults
// (lengths, IDs, nesting, duplicates, a missing or misplaced CRC) are an
// *MPMError and no MPM. A CRC that does not match returns the decoded MPM
// with CRCOK false and an *MPMError wrapping ErrCRC, so a caller can still
// show what the code says. EMVCo data rules are not checked here: see Check.
func DecodeMPM(payload string) (*MPM, error) {
	if !utf8.ValidString(payload) {
		return nil, &MPMError{Err: ErrEncoding}
	}
	if len(payload) > MaxPayload {
		return nil, &MPMError{Err: fmt.Errorf("%w: %d bytes, at most %d", ErrTooLong, len(payload), MaxPayload)}
	}
	r := []rune(payload)
	fields, err := parseObjects(r, 0, "", true)
	if err != nil {
		return nil, err
	}
	last := len(fields) - 1
	for i, f := range fields {
		if f.ID == "63" && i != last {
			return nil, &MPMError{Path: "63", Offset: offsetOf(r, fields, i), Err: fmt.Errorf("%w: 63 is not last", ErrNoCRC)}
		}
	}
	if last < 0 || fields[last].ID != "63" {
		return nil, &MPMError{Offset: len(r), Err: ErrNoCRC}
	}
	crc := fields[last].Value
	if len(crc) != 4 || !isHex(crc) {
		return nil, &MPMError{Path: "63", Offset: len(r) - 8, Err: fmt.Errorf("%w: value %q is not 4 hex digits", ErrNoCRC, crc)}
	}
	m := &MPM{Fields: fields}
	want := crcString([]byte(payload[:len(payload)-4]))
	m.CRCOK = strings.EqualFold(crc, want)
	if !m.CRCOK {
		return m, &MPMError{Path: "63", Offset: len(r) - 4, Err: fmt.Errorf("%w: payload says %s, computed %s", ErrCRC, crc, want)}
	}
	return m, nil
}

// offsetOf is the character offset of top-level field i (for errors only).
func offsetOf(r []rune, fields []Field, i int) int {
	off := 0
	for _, f := range fields[:i] {
		off += 4 + utf8.RuneCountInString(f.Value)
	}
	return off
}

// parseObjects decodes ID/length/value objects from r; base is r's offset
// in the payload, path the parent ID. Top-level templates are decoded one
// level deep (EMVCo templates do not nest further).
func parseObjects(r []rune, base int, path string, top bool) ([]Field, error) {
	var out []Field
	seen := map[string]bool{}
	for i := 0; i < len(r); {
		if len(r)-i < 4 {
			return nil, &MPMError{Path: path, Offset: base + i, Err: fmt.Errorf("%w: %d characters left, an object needs at least 4", ErrTruncated, len(r)-i)}
		}
		id := string(r[i : i+2])
		p := id
		if path != "" {
			p = path + "." + id
		}
		if _, ok := twoDigits(id); !ok {
			return nil, &MPMError{Path: path, Offset: base + i, Err: fmt.Errorf("%w: ID %q", ErrID, id)}
		}
		l, ok := twoDigits(string(r[i+2 : i+4]))
		if !ok {
			return nil, &MPMError{Path: p, Offset: base + i, Err: fmt.Errorf("%w: length %q", ErrID, string(r[i+2:i+4]))}
		}
		start := i
		i += 4
		if l > len(r)-i {
			return nil, &MPMError{Path: p, Offset: base + start, Err: fmt.Errorf("%w: length %d, %d characters left", ErrTruncated, l, len(r)-i)}
		}
		if seen[id] {
			return nil, &MPMError{Path: p, Offset: base + start, Err: ErrDuplicate}
		}
		seen[id] = true
		f := Field{ID: id, Value: string(r[i : i+l])}
		if top && IsTemplate(id) {
			sub, err := parseObjects(r[i:i+l], base+i, id, false)
			if err != nil {
				if e, ok := err.(*MPMError); ok && e.Err != ErrDuplicate {
					e.Err = fmt.Errorf("%w: %w", ErrNesting, e.Err)
				}
				return nil, err
			}
			if len(sub) == 0 {
				return nil, &MPMError{Path: p, Offset: base + start, Err: fmt.Errorf("%w: empty template", ErrNesting)}
			}
			f.Sub = sub
		}
		out = append(out, f)
		i += l
	}
	return out, nil
}

// twoDigits parses exactly two ASCII decimal digits.
func twoDigits(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Field returns the top-level object with the given ID, or nil.
func (m *MPM) Field(id string) *Field { return find(m.Fields, id) }

// Get returns the value at an ID path: Get("54"), Get("62", "05").
func (m *MPM) Get(path ...string) (string, bool) {
	list := m.Fields
	var f *Field
	for _, id := range path {
		if f = find(list, id); f == nil {
			return "", false
		}
		list = f.Sub
	}
	if f == nil {
		return "", false
	}
	return f.Value, true
}

func find(list []Field, id string) *Field {
	for i := range list {
		if list[i].ID == id {
			return &list[i]
		}
	}
	return nil
}

// Dynamic reports whether the point of initiation (01) says the code is for
// one payment ("12").
func (m *MPM) Dynamic() bool { v, _ := m.Get("01"); return v == "12" }

// EncodeMPM encodes data objects as a payload and appends the CRC (63). A
// template's Sub, when set, is encoded in place of its Value; a field 63 in
// fields is dropped and recomputed. Fields are written in the order given.
func EncodeMPM(fields []Field) (string, error) {
	var b strings.Builder
	for _, f := range fields {
		if f.ID == "63" {
			continue
		}
		if err := appendField(&b, f, ""); err != nil {
			return "", err
		}
	}
	b.WriteString("6304")
	s := b.String()
	return s + crcString([]byte(s)), nil
}

func appendField(b *strings.Builder, f Field, parent string) error {
	path := f.ID
	if parent != "" {
		path = parent + "." + f.ID
	}
	if _, ok := twoDigits(f.ID); !ok {
		return &MPMError{Path: path, Err: fmt.Errorf("%w: ID %q", ErrID, f.ID)}
	}
	v := f.Value
	if f.Sub != nil {
		var sb strings.Builder
		for _, s := range f.Sub {
			if err := appendField(&sb, s, path); err != nil {
				return err
			}
		}
		v = sb.String()
	}
	if !utf8.ValidString(v) {
		return &MPMError{Path: path, Err: ErrEncoding}
	}
	n := utf8.RuneCountInString(v)
	if n > 99 {
		return &MPMError{Path: path, Err: fmt.Errorf("%w: %d", ErrTooLong, n)}
	}
	fmt.Fprintf(b, "%s%02d%s", f.ID, n, v)
	return nil
}

// Encode re-encodes the MPM (the CRC recomputed).
func (m *MPM) Encode() (string, error) { return EncodeMPM(m.Fields) }
