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

// Command is a command APDU (ISO 7816-4, short form).
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	// Le is the expected response length; 0 with HasLe means 256 (00).
	Le    int
	HasLe bool
}

// ErrCommandTooLong means the data field does not fit a short APDU.
var ErrCommandTooLong = errors.New("reader: command data longer than 255 bytes")

// Bytes encodes the command as a short APDU.
func (c Command) Bytes() ([]byte, error) {
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
