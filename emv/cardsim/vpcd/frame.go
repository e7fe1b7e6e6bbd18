package vpcd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Control messages sent by the driver (1-byte payloads).
const (
	CtrlPowerOff byte = 0x00
	CtrlPowerOn  byte = 0x01
	CtrlReset    byte = 0x02
	CtrlGetATR   byte = 0x04
)

// MaxPayload is the largest payload a 2-byte length can carry.
const MaxPayload = 0xFFFF

// Kind tells what a message from the driver asks for.
type Kind int

// Message kinds.
const (
	KindPowerOff Kind = iota + 1
	KindPowerOn
	KindReset
	KindGetATR
	KindAPDU
)

func (k Kind) String() string {
	switch k {
	case KindPowerOff:
		return "power off"
	case KindPowerOn:
		return "power on"
	case KindReset:
		return "reset"
	case KindGetATR:
		return "get ATR"
	case KindAPDU:
		return "APDU"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Message is one decoded message from the driver. APDU aliases the payload.
type Message struct {
	Kind Kind
	APDU []byte
}

// Errors of the framing layer; callers branch on them with errors.Is.
var (
	// ErrEmptyFrame is a frame whose length prefix is zero: the driver
	// never sends one.
	ErrEmptyFrame = errors.New("vpcd: empty frame")
	// ErrUnknownControl is a 1-byte payload that is not a known control code.
	ErrUnknownControl = errors.New("vpcd: unknown control byte")
	// ErrPayloadTooLong is a payload that does not fit a 2-byte length.
	ErrPayloadTooLong = errors.New("vpcd: payload longer than 65535 bytes")
)

// FrameError describes a frame that could not be read or decoded. It never
// holds the payload: a command APDU can carry terminal and card data.
type FrameError struct {
	Op  string // "read length", "read payload", "decode"
	Len int    // the announced payload length, -1 when unknown
	Err error
}

func (e *FrameError) Error() string {
	if e.Len >= 0 {
		return fmt.Sprintf("vpcd: %s (payload length %d): %v", e.Op, e.Len, e.Err)
	}
	return fmt.Sprintf("vpcd: %s: %v", e.Op, e.Err)
}

func (e *FrameError) Unwrap() error { return e.Err }

// ReadFrame reads one length-prefixed frame into buf (growing it when it is
// too small) and returns the payload. A clean end of stream before the length
// is io.EOF itself; a stream cut inside a frame is a *FrameError wrapping
// io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, &FrameError{Op: "read length", Len: -1, Err: err}
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n == 0 {
		return nil, &FrameError{Op: "read length", Len: 0, Err: ErrEmptyFrame}
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, &FrameError{Op: "read payload", Len: n, Err: err}
	}
	return buf, nil
}

// AppendFrame appends the frame for payload to dst, so that length and
// payload leave in one write.
func AppendFrame(dst, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return dst, &FrameError{Op: "encode", Len: len(payload), Err: ErrPayloadTooLong}
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(payload)))
	return append(dst, payload...), nil
}

// Decode classifies one payload received from the driver.
func Decode(payload []byte) (Message, error) {
	switch len(payload) {
	case 0:
		return Message{}, &FrameError{Op: "decode", Len: 0, Err: ErrEmptyFrame}
	case 1:
		switch payload[0] {
		case CtrlPowerOff:
			return Message{Kind: KindPowerOff}, nil
		case CtrlPowerOn:
			return Message{Kind: KindPowerOn}, nil
		case CtrlReset:
			return Message{Kind: KindReset}, nil
		case CtrlGetATR:
			return Message{Kind: KindGetATR}, nil
		}
		return Message{}, &FrameError{Op: "decode", Len: 1, Err: fmt.Errorf("%w %02X", ErrUnknownControl, payload[0])}
	}
	return Message{Kind: KindAPDU, APDU: payload}, nil
}
