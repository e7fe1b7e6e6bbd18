package trace

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Size bounds: a recording bigger than these is refused, not buffered.
const (
	// MaxAPDU is the longest command or response accepted (an extended
	// APDU: 7-byte header, 65535 data bytes, 2-byte Le).
	MaxAPDU = 65544
	// MaxFile is the largest .trace file Parse reads.
	MaxFile = 16 << 20
	// minCommand is a command header (CLA INS P1 P2); minResponse is SW1 SW2.
	minCommand  = 4
	minResponse = 2
)

// Meta is one "@ key: value" metadata line.
type Meta struct{ Key, Value string }

// Exchange is one command and the card's response.
type Exchange struct {
	// Command is the command APDU; nil for "> *" (not recorded, matches
	// any command on replay).
	Command []byte
	// Response is the card's response including SW1 SW2.
	Response []byte
	// Comments are the "#" lines written directly before the command,
	// without "# ".
	Comments []string
	// Line is the line number of the command in the parsed file (0 for an
	// exchange that was not parsed).
	Line int
}

// Trace is one recorded card session.
type Trace struct {
	Meta []Meta
	// Comments are the header comments (the "#" lines before the first
	// exchange that a blank line separates from it) and any after the last
	// exchange. WriteTo writes them all at the top, then a blank line.
	Comments  []string
	Exchanges []Exchange
}

// Get returns the value of the first metadata entry named key ("" if none).
func (t *Trace) Get(key string) string {
	for _, m := range t.Meta {
		if m.Key == key {
			return m.Value
		}
	}
	return ""
}

// Commands counts the recorded commands (">" lines, "> *" included).
func (t *Trace) Commands() int { return len(t.Exchanges) }

// Sentinel causes of a SyntaxError, for errors.Is.
var (
	ErrTooLarge   = errors.New("too large")
	ErrBadHex     = errors.New("invalid hex")
	ErrOrder      = errors.New("exchanges out of order")
	ErrBadLine    = errors.New("unrecognised line")
	ErrBadMeta    = errors.New("invalid metadata")
	ErrShortAPDU  = errors.New("APDU too short")
	ErrIncomplete = errors.New("command without response")
)

// SyntaxError is a .trace file that does not follow the format.
type SyntaxError struct {
	Line   int // 1-based line number; 0 for the file as a whole
	Reason string
	Err    error // one of the Err* sentinels
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return "trace: " + e.Reason
	}
	return fmt.Sprintf("trace: line %d: %s", e.Line, e.Reason)
}

// Unwrap returns the sentinel cause.
func (e *SyntaxError) Unwrap() error { return e.Err }

func syntaxErr(line int, err error, format string, a ...any) *SyntaxError {
	return &SyntaxError{Line: line, Reason: fmt.Sprintf(format, a...), Err: err}
}

// Parse reads a .trace file. It fails with a *SyntaxError on bad content
// and with the reader's error (wrapped) when reading fails.
func Parse(r io.Reader) (*Trace, error) {
	lr := &io.LimitedReader{R: r, N: MaxFile + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4<<10), MaxFile+1)
	t := &Trace{}
	var (
		comments []string
		pending  *Exchange // command read, response not yet
		line     int
	)
	for sc.Scan() {
		line++
		if lr.N <= 0 {
			return nil, syntaxErr(0, ErrTooLarge, "file larger than %d bytes", MaxFile)
		}
		text := strings.TrimRight(sc.Text(), " \t\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if strings.IndexByte(text, '\r') >= 0 {
			return nil, syntaxErr(line, ErrBadLine, "carriage return inside a line")
		}
		switch {
		case text == "":
			// Before the first exchange, a blank line ends the header
			// comments; later comments belong to the next command.
			if len(t.Exchanges) == 0 && pending == nil {
				t.Comments = append(t.Comments, comments...)
				comments = nil
			}
			continue
		case text[0] == '#':
			c := strings.TrimPrefix(text[1:], " ")
			if pending != nil {
				return nil, syntaxErr(line, ErrOrder, "comment between a command and its response")
			}
			comments = append(comments, c)
		case text[0] == '@':
			if pending != nil || len(t.Exchanges) > 0 {
				return nil, syntaxErr(line, ErrBadMeta, "metadata after the first exchange")
			}
			k, v, ok := strings.Cut(text[1:], ":")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || k == "" || strings.ContainsAny(k, " \t") {
				return nil, syntaxErr(line, ErrBadMeta, "metadata must be \"@ key: value\"")
			}
			t.Meta = append(t.Meta, Meta{Key: k, Value: v})
		case text[0] == '>':
			if pending != nil {
				return nil, syntaxErr(line, ErrOrder, "command after a command (line %d has no response)", pending.Line)
			}
			body := strings.TrimSpace(text[1:])
			ex := &Exchange{Line: line, Comments: comments}
			comments = nil
			if body != "*" {
				b, err := parseHex(body)
				if err != nil {
					return nil, syntaxErr(line, ErrBadHex, "command: %v", err)
				}
				if len(b) < minCommand {
					return nil, syntaxErr(line, ErrShortAPDU, "command of %d bytes, a header is %d", len(b), minCommand)
				}
				if len(b) > MaxAPDU {
					return nil, syntaxErr(line, ErrTooLarge, "command of %d bytes, limit %d", len(b), MaxAPDU)
				}
				ex.Command = b
			}
			pending = ex
		case text[0] == '<':
			if pending == nil {
				return nil, syntaxErr(line, ErrOrder, "response without a command")
			}
			b, err := parseHex(strings.TrimSpace(text[1:]))
			if err != nil {
				return nil, syntaxErr(line, ErrBadHex, "response: %v", err)
			}
			if len(b) < minResponse {
				return nil, syntaxErr(line, ErrShortAPDU, "response of %d bytes has no status word", len(b))
			}
			if len(b) > MaxAPDU {
				return nil, syntaxErr(line, ErrTooLarge, "response of %d bytes, limit %d", len(b), MaxAPDU)
			}
			pending.Response = b
			t.Exchanges = append(t.Exchanges, *pending)
			pending = nil
		default:
			return nil, syntaxErr(line, ErrBadLine, "line starts with %q; want #, @, > or <", firstRune(text))
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) || lr.N <= 0 {
			return nil, syntaxErr(line+1, ErrTooLarge, "file larger than %d bytes", MaxFile)
		}
		return nil, fmt.Errorf("trace: reading: %w", err)
	}
	if lr.N <= 0 {
		return nil, syntaxErr(0, ErrTooLarge, "file larger than %d bytes", MaxFile)
	}
	if pending != nil {
		return nil, syntaxErr(pending.Line, ErrIncomplete, "command has no response before the end of the file")
	}
	t.Comments = append(t.Comments, comments...)
	return t, nil
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

// parseHex decodes hex bytes written as pairs, with or without spaces
// between them, in either case. A pair may not be split by a space.
func parseHex(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("no bytes")
	}
	out := make([]byte, 0, (len(s)+1)/3+1)
	for i := 0; i < len(s); {
		c := s[i]
		if c == ' ' || c == '\t' {
			i++
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("odd digit %q at column %d", c, i+1)
		}
		hi, ok1 := unhex(c)
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			bad, col := c, i
			if ok1 {
				bad, col = s[i+1], i+1
			}
			return nil, fmt.Errorf("bad hex digit %q at column %d", bad, col+1)
		}
		out = append(out, hi<<4|lo)
		i += 2
	}
	return out, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// ErrUnwritable means a Trace holds something the format cannot express
// (a newline in a comment, a metadata key with a colon, a missing
// response); WriteTo returns it wrapped with the detail.
var ErrUnwritable = errors.New("trace: not writable")

// WriteTo writes t in the canonical form: metadata, header comments, then
// each exchange's comments, command and response, uppercase hex with one
// space between bytes. Parse of the output gives t back (Line aside).
func (t *Trace) WriteTo(w io.Writer) (int64, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	var b bytes.Buffer
	for _, m := range t.Meta {
		b.WriteString("@ ")
		b.WriteString(m.Key)
		b.WriteString(": ")
		b.WriteString(m.Value)
		b.WriteByte('\n')
	}
	writeComments(&b, t.Comments)
	if len(t.Comments) > 0 && len(t.Exchanges) > 0 {
		b.WriteByte('\n')
	}
	for _, ex := range t.Exchanges {
		writeComments(&b, ex.Comments)
		b.WriteString(">")
		if ex.Command == nil {
			b.WriteString(" *")
		} else {
			writeHex(&b, ex.Command)
		}
		b.WriteString("\n<")
		writeHex(&b, ex.Response)
		b.WriteByte('\n')
	}
	n, err := w.Write(b.Bytes())
	return int64(n), err
}

func writeComments(b *bytes.Buffer, cs []string) {
	for _, c := range cs {
		b.WriteByte('#')
		if c != "" {
			b.WriteByte(' ')
			b.WriteString(c)
		}
		b.WriteByte('\n')
	}
}

func writeHex(b *bytes.Buffer, p []byte) {
	const digits = "0123456789ABCDEF"
	for _, x := range p {
		b.WriteByte(' ')
		b.WriteByte(digits[x>>4])
		b.WriteByte(digits[x&0x0F])
	}
}

// check tells whether Parse would read back what WriteTo writes.
func (t *Trace) check() error {
	text := func(what, s string) error {
		if strings.ContainsAny(s, "\r\n") {
			return fmt.Errorf("%w: %s contains a line break", ErrUnwritable, what)
		}
		if s != strings.TrimRight(s, " \t") {
			return fmt.Errorf("%w: %s ends with white space", ErrUnwritable, what)
		}
		return nil
	}
	for i, m := range t.Meta {
		if m.Key == "" || strings.ContainsAny(m.Key, ": \t") || m.Value != strings.TrimSpace(m.Value) {
			return fmt.Errorf("%w: metadata %d: key %q or value not trimmed", ErrUnwritable, i, m.Key)
		}
		if err := text("metadata", m.Key+m.Value); err != nil {
			return err
		}
	}
	comment := func(c string) error { return text("comment", c) }
	for _, c := range t.Comments {
		if err := comment(c); err != nil {
			return err
		}
	}
	for i, ex := range t.Exchanges {
		for _, c := range ex.Comments {
			if err := comment(c); err != nil {
				return err
			}
		}
		if ex.Command != nil && (len(ex.Command) < minCommand || len(ex.Command) > MaxAPDU) {
			return fmt.Errorf("%w: exchange %d: command of %d bytes", ErrUnwritable, i, len(ex.Command))
		}
		if len(ex.Response) < minResponse || len(ex.Response) > MaxAPDU {
			return fmt.Errorf("%w: exchange %d: response of %d bytes", ErrUnwritable, i, len(ex.Response))
		}
	}
	return nil
}
