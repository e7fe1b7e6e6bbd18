package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"go.bug.st/serial"
)

// ErrLineTooLong: a serial scanner sent more than MaxLine bytes without a
// line ending; the bytes are dropped up to the next ending.
var ErrLineTooLong = errors.New("scan: serial line too long")

// MaxLine bounds one line from a serial scanner (a QR holds at most ~7 kB).
const MaxLine = 8 << 10

// SerialOptions configure a serial barcode scanner. The zero value is
// 9600 8N1 with lines ending in CR (the factory default of most scanners).
type SerialOptions struct {
	Baud int    // 0 = 9600
	EOL  string // line ending; "" = "\r". A CR LF scanner works with "\r" too (LF is trimmed)
	// Poll is how often a blocked read checks for cancellation (0 = 100 ms).
	Poll time.Duration
}

// Serial reads decoded texts from a serial barcode scanner (USB CDC-ACM,
// RS-232, or a pseudo-terminal): one code per line.
type Serial struct {
	Path string
	port serial.Port
	opts SerialOptions
	buf  []byte
	skip bool // dropping an overlong line up to its ending
}

// OpenSerial opens a scanner's port. Modem control lines are left as the
// kernel sets them on open (no InitialStatusBits: pseudo-terminals and some
// adapters refuse the modem ioctls).
func OpenSerial(path string, opts SerialOptions) (*Serial, error) {
	if opts.Baud == 0 {
		opts.Baud = 9600
	}
	if opts.EOL == "" {
		opts.EOL = "\r"
	}
	if opts.Poll == 0 {
		opts.Poll = 100 * time.Millisecond
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: opts.Baud, DataBits: 8})
	if err != nil {
		return nil, fmt.Errorf("scan: opening serial scanner %s: %w", path, err)
	}
	if err := p.SetReadTimeout(opts.Poll); err != nil {
		p.Close()
		return nil, fmt.Errorf("scan: serial scanner %s: %w", path, err)
	}
	return &Serial{Path: path, port: p, opts: opts}, nil
}

// Text returns the next line, without its ending and surrounding control
// characters; empty lines are skipped.
func (s *Serial) Text(ctx context.Context) (string, error) {
	eol := []byte(s.opts.EOL)
	chunk := make([]byte, 512)
	for {
		// A cancelled caller takes nothing: what was read stays in buf for
		// the next one.
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if i := bytes.Index(s.buf, eol); i >= 0 {
			line := string(bytes.Trim(s.buf[:i], "\r\n\x00")) // a copy: buf is reused below
			s.buf = append(s.buf[:0], s.buf[i+len(eol):]...)
			if s.skip {
				s.skip = false
				continue
			}
			if line == "" {
				continue
			}
			return line, nil
		}
		if len(s.buf) > MaxLine {
			s.buf = s.buf[:0]
			if !s.skip {
				s.skip = true
				return "", fmt.Errorf("%w (over %d bytes)", ErrLineTooLong, MaxLine)
			}
		}
		n, err := s.port.Read(chunk) // n == 0, err == nil on the read timeout
		if err != nil {
			return "", fmt.Errorf("scan: serial scanner %s: %w", s.Path, err)
		}
		s.buf = append(s.buf, chunk[:n]...)
	}
}

// Close closes the port.
func (s *Serial) Close() error { return s.port.Close() }
