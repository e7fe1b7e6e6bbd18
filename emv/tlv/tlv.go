package tlv

import (
	"errors"
	"fmt"
)

// Tag is a BER-TLV tag, its bytes packed big-endian (9F02 = 0x9F02).
type Tag uint32

// String prints the tag in hex, e.g. "9F02".
func (t Tag) String() string {
	switch {
	case t > 0xFFFFFF:
		return fmt.Sprintf("%08X", uint32(t))
	case t > 0xFFFF:
		return fmt.Sprintf("%06X", uint32(t))
	case t > 0xFF:
		return fmt.Sprintf("%04X", uint32(t))
	}
	return fmt.Sprintf("%02X", uint32(t))
}

// firstByte returns the tag's leading byte (class, constructed bit, number).
func (t Tag) firstByte() byte {
	for t > 0xFF {
		t >>= 8
	}
	return byte(t)
}

// Constructed reports whether the tag's value is itself a list of objects.
func (t Tag) Constructed() bool { return t.firstByte()&0x20 != 0 }

// Bytes returns the tag's encoding.
func (t Tag) Bytes() []byte {
	switch {
	case t > 0xFFFFFF:
		return []byte{byte(t >> 24), byte(t >> 16), byte(t >> 8), byte(t)}
	case t > 0xFFFF:
		return []byte{byte(t >> 16), byte(t >> 8), byte(t)}
	case t > 0xFF:
		return []byte{byte(t >> 8), byte(t)}
	}
	return []byte{byte(t)}
}

// TLV is one decoded data object. Value aliases the input; Children is set
// for constructed objects.
type TLV struct {
	Tag      Tag
	Value    []byte
	Children []TLV
	// Offset is where the object's tag starts in the outermost input.
	Offset int
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 16

// Sentinel causes of a SyntaxError, for errors.Is.
var (
	ErrTruncated   = errors.New("truncated")
	ErrTagTooLong  = errors.New("tag longer than 4 bytes")
	ErrLengthForm  = errors.New("unsupported length form")
	ErrTooDeep     = errors.New("nesting too deep")
	ErrZeroTag     = errors.New("tag 00 inside data")
	ErrTrailing    = errors.New("trailing bytes")
	ErrInvalidData = errors.New("invalid data")
)

// SyntaxError reports malformed TLV bytes: where, in which tag, and why.
type SyntaxError struct {
	Offset int // byte offset in the outermost input
	Tag    Tag // tag being decoded, 0 if the tag itself was bad
	Err    error
}

func (e *SyntaxError) Error() string {
	if e.Tag != 0 {
		return fmt.Sprintf("tlv: tag %s at offset %d: %v", e.Tag, e.Offset, e.Err)
	}
	return fmt.Sprintf("tlv: offset %d: %v", e.Offset, e.Err)
}

// Unwrap returns the cause (one of the Err* sentinels).
func (e *SyntaxError) Unwrap() error { return e.Err }

// Parse decodes a sequence of data objects, recursing into constructed ones.
func Parse(b []byte) ([]TLV, error) { return parse(b, 0, 0) }

func parse(b []byte, base, depth int) ([]TLV, error) {
	if depth > maxDepth {
		return nil, &SyntaxError{Offset: base, Err: ErrTooDeep}
	}
	var out []TLV
	for i := 0; i < len(b); {
		if b[i] == 0x00 || b[i] == 0xFF { // padding between objects
			i++
			continue
		}
		tag, n, err := readTag(b[i:])
		if err != nil {
			return nil, &SyntaxError{Offset: base + i, Err: err}
		}
		start := i
		i += n
		l, n, err := readLen(b[i:])
		if err != nil {
			return nil, &SyntaxError{Offset: base + start, Tag: tag, Err: err}
		}
		i += n
		if l > len(b)-i {
			return nil, &SyntaxError{Offset: base + start, Tag: tag, Err: fmt.Errorf("%w: length %d, %d bytes left", ErrTruncated, l, len(b)-i)}
		}
		obj := TLV{Tag: tag, Value: b[i : i+l : i+l], Offset: base + start}
		if tag.Constructed() {
			obj.Children, err = parse(obj.Value, base+i, depth+1)
			if err != nil {
				return nil, err
			}
		}
		out = append(out, obj)
		i += l
	}
	return out, nil
}

// readTag reads a tag of up to 4 bytes.
func readTag(b []byte) (Tag, int, error) {
	if len(b) == 0 {
		return 0, 0, ErrTruncated
	}
	t := Tag(b[0])
	if b[0]&0x1F != 0x1F {
		return t, 1, nil
	}
	for i := 1; ; i++ {
		if i >= len(b) {
			return 0, 0, ErrTruncated
		}
		if i >= 4 {
			return 0, 0, ErrTagTooLong
		}
		t = t<<8 | Tag(b[i])
		if b[i]&0x80 == 0 {
			return t, i + 1, nil
		}
	}
}

// readLen reads a definite length (short form or 81/82/83).
func readLen(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, ErrTruncated
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	n := int(b[0] & 0x7F)
	if n == 0 || n > 3 {
		return 0, 0, fmt.Errorf("%w: %02X", ErrLengthForm, b[0])
	}
	if len(b) < 1+n {
		return 0, 0, ErrTruncated
	}
	l := 0
	for _, x := range b[1 : 1+n] {
		l = l<<8 | int(x)
	}
	return l, 1 + n, nil
}

// Find returns the first object with tag t, searching depth-first.
func Find(list []TLV, t Tag) (TLV, bool) {
	for _, o := range list {
		if o.Tag == t {
			return o, true
		}
		if r, ok := Find(o.Children, t); ok {
			return r, true
		}
	}
	return TLV{}, false
}

// Value returns the value of the first object with tag t, or nil.
func Value(list []TLV, t Tag) []byte {
	o, ok := Find(list, t)
	if !ok {
		return nil
	}
	return o.Value
}

// Walk calls fn for every primitive object, depth-first, in order.
func Walk(list []TLV, fn func(TLV)) {
	for _, o := range list {
		if len(o.Children) > 0 || o.Tag.Constructed() {
			Walk(o.Children, fn)
			continue
		}
		fn(o)
	}
}

// Append encodes one object with tag t and value v onto dst.
func Append(dst []byte, t Tag, v []byte) []byte {
	dst = append(dst, t.Bytes()...)
	return append(AppendLen(dst, len(v)), v...)
}

// Encode returns one encoded object.
func Encode(t Tag, v []byte) []byte { return Append(nil, t, v) }

// AppendLen encodes a BER definite length.
func AppendLen(dst []byte, l int) []byte {
	switch {
	case l < 0x80:
		return append(dst, byte(l))
	case l <= 0xFF:
		return append(dst, 0x81, byte(l))
	case l <= 0xFFFF:
		return append(dst, 0x82, byte(l>>8), byte(l))
	}
	return append(dst, 0x83, byte(l>>16), byte(l>>8), byte(l))
}

// Marshal re-encodes objects: constructed objects from their children.
func Marshal(list []TLV) []byte {
	var out []byte
	for _, o := range list {
		if o.Tag.Constructed() && o.Children != nil {
			out = Append(out, o.Tag, Marshal(o.Children))
			continue
		}
		out = Append(out, o.Tag, o.Value)
	}
	return out
}

// ParseTag decodes a tag written in hex ("9F02") into a Tag.
func ParseTag(s string) (Tag, error) {
	if len(s) == 0 || len(s) > 8 || len(s)%2 != 0 {
		return 0, fmt.Errorf("tlv: bad tag %q", s)
	}
	var t Tag
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		default:
			return 0, fmt.Errorf("tlv: bad tag %q", s)
		}
		t = t<<4 | Tag(d)
	}
	return t, nil
}
