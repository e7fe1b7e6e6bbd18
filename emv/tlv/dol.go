package tlv

import (
	"fmt"
)

// DOLEntry is one (tag, length) pair of a data object list.
type DOLEntry struct {
	Tag Tag
	Len int
}

// DOL is a data object list (PDOL 9F38, CDOL1 8C, CDOL2 8D, DDOL 9F49).
type DOL []DOLEntry

// ParseDOL decodes a DOL: tags and lengths, no values.
func ParseDOL(b []byte) (DOL, error) {
	var d DOL
	for i := 0; i < len(b); {
		t, n, err := readTag(b[i:])
		if err != nil {
			return nil, &SyntaxError{Offset: i, Err: err}
		}
		start := i
		i += n
		l, n, err := readLen(b[i:])
		if err != nil {
			return nil, &SyntaxError{Offset: start, Tag: t, Err: err}
		}
		i += n
		if l > 252 {
			return nil, &SyntaxError{Offset: start, Tag: t, Err: fmt.Errorf("%w: DOL length %d", ErrInvalidData, l)}
		}
		d = append(d, DOLEntry{Tag: t, Len: l})
	}
	return d, nil
}

// Len is the total length of the data the DOL asks for.
func (d DOL) Len() int {
	n := 0
	for _, e := range d {
		n += e.Len
	}
	return n
}

// Has reports whether the DOL asks for tag t.
func (d DOL) Has(t Tag) bool {
	for _, e := range d {
		if e.Tag == t {
			return true
		}
	}
	return false
}

// Build concatenates the values the DOL asks for, taken from get, applying
// the EMV Book 3 section 5.4 rules: a value the terminal does not have (or a
// constructed tag) is filled with zeros; a numeric (n) value is padded on the
// left with zeros or loses its leftmost bytes; a compressed numeric (cn)
// value is padded on the right with FF; any other format is padded on the
// right with zeros or loses its rightmost bytes.
func (d DOL) Build(get func(Tag) ([]byte, bool)) []byte {
	out := make([]byte, 0, d.Len())
	for _, e := range d {
		v, ok := get(e.Tag)
		if !ok || e.Tag.Constructed() {
			out = append(out, make([]byte, e.Len)...)
			continue
		}
		out = append(out, Fit(v, e.Len, Lookup(e.Tag).Format)...)
	}
	return out
}

// Fit pads or truncates v to n bytes according to format (Book 3 5.4).
func Fit(v []byte, n int, f Format) []byte {
	switch {
	case len(v) == n:
		return v
	case f == FormatN && len(v) > n:
		return v[len(v)-n:]
	case len(v) > n:
		return v[:n]
	}
	out := make([]byte, n)
	switch f {
	case FormatN:
		copy(out[n-len(v):], v)
	case FormatCN:
		copy(out, v)
		for i := len(v); i < n; i++ {
			out[i] = 0xFF
		}
	default:
		copy(out, v)
	}
	return out
}

// Split cuts DOL-built data back into its values, e.g. to learn the
// terminal data of a recorded GET PROCESSING OPTIONS.
func (d DOL) Split(data []byte) (map[Tag][]byte, error) {
	if len(data) != d.Len() {
		return nil, fmt.Errorf("tlv: DOL data is %d bytes, DOL asks for %d: %w", len(data), d.Len(), ErrInvalidData)
	}
	m := make(map[Tag][]byte, len(d))
	i := 0
	for _, e := range d {
		m[e.Tag] = data[i : i+e.Len]
		i += e.Len
	}
	return m, nil
}
