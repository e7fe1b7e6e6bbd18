package reader

import (
	"context"
	"errors"
	"fmt"
)

// Card is anything that exchanges APDUs with a card: a PC/SC connection, a
// dongle, a software card or a replayed recording. The response includes the
// two status bytes.
type Card interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// Command is a command APDU (ISO 7816-4 cases 1 to 4, short or extended
// length).
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	// Le is the expected response length; 0 with HasLe means the maximum
	// (256, or 65536 when Extended).
	Le    int
	HasLe bool
	// Extended says the length fields are in the extended form (3-byte Lc,
	// 2- or 3-byte Le).
	Extended bool
}

// Errors about command APDUs.
var (
	// ErrCommandTooLong means the data field does not fit the APDU's form.
	ErrCommandTooLong = errors.New("reader: command data too long")
	// ErrMalformedCommand means the length fields of a command APDU do not
	// agree with its size. ParseCommand wraps it with the detail.
	ErrMalformedCommand = errors.New("reader: malformed command APDU")
)

// ParseCommand decodes a command APDU: the only command parser of the tree
// (the kernel, software cards, traces and the CLI use it). Data aliases b.
// It never panics; bad length fields are an error wrapping
// ErrMalformedCommand.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes, a header is 4", ErrMalformedCommand, len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3]}
	body := b[4:]
	bad := func() (Command, error) {
		return c, fmt.Errorf("%w: %d bytes after the header do not match its length fields", ErrMalformedCommand, len(body))
	}
	switch {
	case len(body) == 0: // case 1
	case len(body) == 1: // case 2S
		c.Le, c.HasLe = int(body[0]), true
	case body[0] != 0: // case 3S, 4S
		lc := int(body[0])
		switch len(body) {
		case 1 + lc:
		case 2 + lc:
			c.Le, c.HasLe = int(body[1+lc]), true
		default:
			return bad()
		}
		c.Data = body[1 : 1+lc]
	case len(body) == 3: // case 2E
		c.Extended, c.Le, c.HasLe = true, int(body[1])<<8|int(body[2]), true
	case len(body) > 3: // case 3E, 4E
		lc := int(body[1])<<8 | int(body[2])
		c.Extended = true
		switch {
		case lc == 0:
			return bad()
		case len(body) == 3+lc:
		case len(body) == 5+lc:
			c.Le, c.HasLe = int(body[3+lc])<<8|int(body[4+lc]), true
		default:
			return bad()
		}
		c.Data = body[3 : 3+lc]
	default:
		return bad()
	}
	return c, nil
}

// Ne is the number of response bytes the command asks for: 0 when it has
// no Le, 256 (short) or 65536 (extended) for an Le of zero.
func (c Command) Ne() int {
	switch {
	case !c.HasLe:
		return 0
	case c.Le != 0:
		return c.Le
	case c.Extended:
		return 65536
	}
	return 256
}

// Bytes encodes the command (short form unless Extended).
func (c Command) Bytes() ([]byte, error) {
	if !c.Extended {
		if len(c.Data) > 255 {
			return nil, ErrCommandTooLong
		}
		b := make([]byte, 0, 6+len(c.Data))
		b = append(b, c.CLA, c.INS, c.P1, c.P2)
		if len(c.Data) > 0 {
			b = append(b, byte(len(c.Data)))
			b = append(b, c.Data...)
		}
		if c.HasLe {
			b = append(b, byte(c.Le))
		}
		return b, nil
	}
	if len(c.Data) > 65535 {
		return nil, ErrCommandTooLong
	}
	b := make([]byte, 0, 9+len(c.Data))
	b = append(b, c.CLA, c.INS, c.P1, c.P2)
	if len(c.Data) > 0 {
		b = append(b, 0, byte(len(c.Data)>>8), byte(len(c.Data)))
		b = append(b, c.Data...)
		if c.HasLe {
			b = append(b, byte(c.Le>>8), byte(c.Le))
		}
	} else if c.HasLe {
		b = append(b, 0, byte(c.Le>>8), byte(c.Le))
	}
	return b, nil
}

// String shows the header and data length, never the data: command data can
// hold terminal and card values that do not belong in logs.
func (c Command) String() string {
	return fmt.Sprintf("%02X %02X %02X %02X (Lc=%d)", c.CLA, c.INS, c.P1, c.P2, len(c.Data))
}

// Select builds SELECT by name (first or only occurrence), with Le 00.
func Select(name []byte) Command {
	return Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x00, Data: name, HasLe: true}
}

// SelectNext builds SELECT by name, next occurrence (partial selection).
func SelectNext(name []byte) Command {
	return Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x02, Data: name, HasLe: true}
}

// GetProcessingOptions builds GET PROCESSING OPTIONS with the data of
// tag 83 (already wrapped as 83 L V by the caller).
func GetProcessingOptions(data []byte) Command {
	return Command{CLA: 0x80, INS: 0xA8, P1: 0x00, P2: 0x00, Data: data, HasLe: true}
}

// ReadRecord builds READ RECORD for record rec of short file sfi.
func ReadRecord(sfi, rec byte) Command {
	return Command{CLA: 0x00, INS: 0xB2, P1: rec, P2: sfi<<3 | 0x04, HasLe: true}
}

// GenerateAC builds GENERATE APPLICATION CRYPTOGRAM; p1 holds the requested
// cryptogram type (0x00 AAC, 0x40 TC, 0x80 ARQC) and bit 0x10 for CDA.
func GenerateAC(p1 byte, data []byte) Command {
	return Command{CLA: 0x80, INS: 0xAE, P1: p1, P2: 0x00, Data: data, HasLe: true}
}

// InternalAuthenticate builds INTERNAL AUTHENTICATE with DDOL data.
func InternalAuthenticate(data []byte) Command {
	return Command{CLA: 0x00, INS: 0x88, P1: 0x00, P2: 0x00, Data: data, HasLe: true}
}

// GetData builds GET DATA for a one- or two-byte tag.
func GetData(tag uint16) Command {
	return Command{CLA: 0x80, INS: 0xCA, P1: byte(tag >> 8), P2: byte(tag), HasLe: true}
}

// GetResponse builds GET RESPONSE (INS C0) asking for n bytes.
func GetResponse(n byte) Command {
	return Command{CLA: 0x00, INS: 0xC0, P1: 0x00, P2: 0x00, Le: int(n), HasLe: true}
}
