package uplink

import (
	"errors"
	"fmt"
	"io"
)

// Header is the network length header in front of every message.
type Header int

// Network length headers.
const (
	// HeaderBinary2 is a 2-byte big-endian binary length (the default).
	HeaderBinary2 Header = iota
	// HeaderBCD2 is a 2-byte BCD length (0-9999).
	HeaderBCD2
	// HeaderASCII4 is a 4-digit ASCII decimal length (0-9999).
	HeaderASCII4
)

// ParseHeader maps a config name ("binary2", "bcd2", "ascii4"; "" =
// binary2) to a Header.
func ParseHeader(s string) (Header, error) {
	switch s {
	case "", "binary2":
		return HeaderBinary2, nil
	case "bcd2":
		return HeaderBCD2, nil
	case "ascii4":
		return HeaderASCII4, nil
	}
	return 0, fmt.Errorf("uplink: unknown length header %q (binary2, bcd2, ascii4)", s)
}

func (h Header) String() string {
	switch h {
	case HeaderBinary2:
		return "binary2"
	case HeaderBCD2:
		return "bcd2"
	case HeaderASCII4:
		return "ascii4"
	}
	return fmt.Sprintf("Header(%d)", int(h))
}

// Size is the header's length in bytes.
func (h Header) Size() int {
	if h == HeaderASCII4 {
		return 4
	}
	return 2
}

// Max is the largest message length the header can express.
func (h Header) Max() int {
	if h == HeaderBinary2 {
		return 0xffff
	}
	return 9999
}

// MaxMessage is the largest message the uplink accepts from a peer; a
// larger declared length is a *FrameError (no allocation of hostile sizes).
const MaxMessage = 8192

// AppendFrame appends the header for len(msg) and msg to dst.
func (h Header) AppendFrame(dst, msg []byte) ([]byte, error) {
	n := len(msg)
	if n > h.Max() || n > MaxMessage {
		return nil, &FrameError{Length: n, Max: min(h.Max(), MaxMessage), Detail: "message too long"}
	}
	switch h {
	case HeaderBinary2:
		dst = append(dst, byte(n>>8), byte(n))
	case HeaderBCD2:
		dst = append(dst, byte(n/1000)<<4|byte(n/100%10), byte(n/10%10)<<4|byte(n%10))
	case HeaderASCII4:
		dst = append(dst, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
	default:
		return nil, &FrameError{Detail: "unknown header kind"}
	}
	return append(dst, msg...), nil
}

// DecodeLength decodes a header (exactly h.Size() bytes).
func (h Header) DecodeLength(b []byte) (int, error) {
	if len(b) != h.Size() {
		return 0, &FrameError{Detail: fmt.Sprintf("header is %d bytes, want %d", len(b), h.Size())}
	}
	var n int
	switch h {
	case HeaderBinary2:
		n = int(b[0])<<8 | int(b[1])
	case HeaderBCD2:
		for _, x := range b {
			hi, lo := x>>4, x&0x0f
			if hi > 9 || lo > 9 {
				return 0, &FrameError{Detail: fmt.Sprintf("BCD length header %02X%02X has a non-decimal nibble", b[0], b[1])}
			}
			n = n*100 + int(hi)*10 + int(lo)
		}
	case HeaderASCII4:
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, &FrameError{Detail: "ASCII length header is not 4 digits"}
			}
			n = n*10 + int(c-'0')
		}
	default:
		return 0, &FrameError{Detail: "unknown header kind"}
	}
	if n == 0 {
		return 0, &FrameError{Detail: "zero-length message"}
	}
	if n > MaxMessage {
		return 0, &FrameError{Length: n, Max: MaxMessage, Detail: "declared length too large"}
	}
	return n, nil
}

// ReadFrame reads one header and message from r into buf (grown as needed)
// and returns the message. io.EOF is returned as is when the peer closed
// cleanly between messages; a close inside a frame is io.ErrUnexpectedEOF.
func (h Header) ReadFrame(r io.Reader, buf []byte) ([]byte, error) {
	var hb [4]byte
	hdr := hb[:h.Size()]
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	n, err := h.DecodeLength(hdr)
	if err != nil {
		return nil, err
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}
