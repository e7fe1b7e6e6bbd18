package tlv

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"unicode"

	"posagent/emv/pan"
)

// DumpOptions control Dump.
type DumpOptions struct {
	// Unmasked shows PAN, track data and secrets in full. Only for a user who
	// asked for it on their own terminal; never for logs.
	Unmasked bool
	Indent   string
}

// Dump writes a decoded object tree, one object a line, with tag names and,
// for text formats, the text. Sensitive values are masked unless asked.
func Dump(w io.Writer, list []TLV, opts DumpOptions) {
	dump(w, list, opts, 0)
}

func dump(w io.Writer, list []TLV, opts DumpOptions, depth int) {
	ind := opts.Indent + strings.Repeat("  ", depth)
	for _, o := range list {
		info := Lookup(o.Tag)
		if o.Tag.Constructed() {
			fmt.Fprintf(w, "%s%s %s (%d bytes)\n", ind, o.Tag, info.Name, len(o.Value))
			dump(w, o.Children, opts, depth+1)
			continue
		}
		fmt.Fprintf(w, "%s%s %s: %s\n", ind, o.Tag, info.Name, ShowValue(o.Tag, o.Value, opts.Unmasked))
	}
}

// ShowValue renders one value for people: hex, plus text for text formats,
// masked by the tag's sensitivity unless unmasked.
func ShowValue(t Tag, v []byte, unmasked bool) string {
	info := Lookup(t)
	if !unmasked {
		switch info.Sensitive {
		case SensitivePAN:
			s := strings.TrimRight(strings.ToUpper(hex.EncodeToString(v)), "F")
			return pan.Mask(s)
		case SensitiveTrack:
			if tr, err := pan.ParseTrack2(v); err == nil {
				return tr.String()
			}
			return fmt.Sprintf("<%d bytes hidden>", len(v))
		case SensitiveSecret:
			return fmt.Sprintf("<%d bytes hidden>", len(v))
		case SensitiveName:
			return fmt.Sprintf("<name, %d bytes hidden>", len(v))
		}
	}
	h := strings.ToUpper(hex.EncodeToString(v))
	if info.Format == FormatAN || info.Format == FormatANS || info.Sensitive == SensitiveName {
		if printable(v) {
			return fmt.Sprintf("%s %q", h, string(v))
		}
	}
	return h
}

func printable(v []byte) bool {
	for _, c := range v {
		if c >= 0x80 || !unicode.IsPrint(rune(c)) {
			return false
		}
	}
	return len(v) > 0
}
