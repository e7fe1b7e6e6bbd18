package frame

import (
	"errors"
	"fmt"
)

// Node addresses (NAD): DAD in the high nibble, SAD in the low one.
const (
	NADHost   byte = 0x12 // host to device
	NADDevice byte = 0x21 // device to host
)

// MaxIFS is the largest information field of one block (ISO 7816-3: 254).
const MaxIFS = 254

// MaxMessage bounds a reassembled chain.
const MaxMessage = 65535

// EDC is the error detection code closing a block.
type EDC uint8

const (
	LRC EDC = iota // one byte: XOR of the block
	CRC            // two bytes: CRC-16/CCITT, most significant first
)

// Len is the number of EDC bytes.
func (e EDC) Len() int {
	if e == CRC {
		return 2
	}
	return 1
}

func (e EDC) String() string {
	if e == CRC {
		return "crc"
	}
	return "lrc"
}

// ParseEDC reads "lrc" or "crc".
func ParseEDC(s string) (EDC, error) {
	switch s {
	case "lrc":
		return LRC, nil
	case "crc":
		return CRC, nil
	}
	return 0, fmt.Errorf("edc %q is neither lrc nor crc", s)
}

// Kind is a block type.
type Kind uint8

const (
	KindI Kind = iota // information
	KindR             // receive ready (acknowledge / retransmit request)
	KindS             // supervisory
)

func (k Kind) String() string { return [...]string{"I", "R", "S"}[k] }

// SType is the function of an S-block.
type SType uint8

const (
	Resynch SType = 0
	IFS     SType = 1
	Abort   SType = 2
	WTX     SType = 3
)

func (s SType) String() string { return [...]string{"RESYNCH", "IFS", "ABORT", "WTX"}[s] }

// R-block error codes.
const (
	ROK       byte = 0 // acknowledge
	REDCError byte = 1 // the last block had a bad EDC
	ROther    byte = 2 // other error (invalid block, nothing received)
)

// Block is one T=1 block.
type Block struct {
	NAD  byte
	Kind Kind
	// I-block
	NS   byte // send sequence number, 0 or 1
	More bool // chaining: more blocks of this message follow
	// R-block
	NR   byte // sequence number expected next, 0 or 1
	RErr byte // ROK, REDCError, ROther
	// S-block
	S        SType
	Response bool
	INF      []byte
}

// I returns an I-block.
func I(nad, ns byte, more bool, inf []byte) Block {
	return Block{NAD: nad, Kind: KindI, NS: ns & 1, More: more, INF: inf}
}

// R returns an R-block.
func R(nad, nr, rerr byte) Block { return Block{NAD: nad, Kind: KindR, NR: nr & 1, RErr: rerr} }

// S returns an S-block; IFS and WTX take one parameter byte.
func S(nad byte, t SType, response bool, param ...byte) Block {
	return Block{NAD: nad, Kind: KindS, S: t, Response: response, INF: param}
}

func (b Block) String() string {
	switch b.Kind {
	case KindI:
		m := ""
		if b.More {
			m = ",M"
		}
		return fmt.Sprintf("I(%d%s) %d bytes", b.NS, m, len(b.INF))
	case KindR:
		return fmt.Sprintf("R(%d,err %d)", b.NR, b.RErr)
	}
	dir := "request"
	if b.Response {
		dir = "response"
	}
	return fmt.Sprintf("S(%s %s % X)", b.S, dir, b.INF)
}

// PCB encodes the protocol control byte.
func (b Block) PCB() byte {
	switch b.Kind {
	case KindI:
		p := b.NS & 1 << 6
		if b.More {
			p |= 0x20
		}
		return p
	case KindR:
		return 0x80 | b.NR&1<<4 | b.RErr&3
	}
	p := 0xC0 | byte(b.S)&3
	if b.Response {
		p |= 0x20
	}
	return p
}

// Sentinels every *BlockError matches (errors.Is).
var (
	ErrIncomplete = errors.New("frame: incomplete block") // not an error in a stream: read more
	ErrNAD        = errors.New("frame: unexpected node address")
	ErrPCB        = errors.New("frame: invalid protocol control byte")
	ErrLength     = errors.New("frame: invalid length")
	ErrEDC        = errors.New("frame: EDC mismatch")
)

// BlockError is a block refused by Decode or Encode.
type BlockError struct {
	Err    error // ErrNAD, ErrPCB, ErrLength, ErrEDC
	Detail string
}

func (e *BlockError) Error() string { return e.Err.Error() + ": " + e.Detail }
func (e *BlockError) Unwrap() error { return e.Err }

func blockErr(err error, format string, a ...any) error {
	return &BlockError{Err: err, Detail: fmt.Sprintf(format, a...)}
}

// parsePCB decodes a PCB and says how long the INF of such a block is (at
// most, for an I-block).
func parsePCB(pcb byte) (Block, int, error) {
	switch {
	case pcb&0x80 == 0: // I
		if pcb&0x1F != 0 {
			return Block{}, 0, blockErr(ErrPCB, "I-block PCB %02X has reserved bits set", pcb)
		}
		return Block{Kind: KindI, NS: pcb >> 6 & 1, More: pcb&0x20 != 0}, MaxIFS, nil
	case pcb&0xC0 == 0x80: // R
		if pcb&0x2C != 0 || pcb&3 == 3 {
			return Block{}, 0, blockErr(ErrPCB, "R-block PCB %02X is not defined", pcb)
		}
		return Block{Kind: KindR, NR: pcb >> 4 & 1, RErr: pcb & 3}, 0, nil
	}
	if pcb&0x1C != 0 {
		return Block{}, 0, blockErr(ErrPCB, "S-block PCB %02X is not defined", pcb)
	}
	b := Block{Kind: KindS, S: SType(pcb & 3), Response: pcb&0x20 != 0}
	if b.S == IFS || b.S == WTX {
		return b, 1, nil
	}
	return b, 0, nil
}

// check validates the INF length against the block type and ifs.
func check(b Block, max, ifs int) error {
	n := len(b.INF)
	if b.Kind == KindI {
		if n > ifs {
			return blockErr(ErrLength, "I-block INF of %d bytes is longer than the IFS %d", n, ifs)
		}
		return nil
	}
	if n != max {
		return blockErr(ErrLength, "%s-block with INF of %d bytes (want %d)", b.Kind, n, max)
	}
	if b.Kind == KindS && max == 1 && b.INF[0] == 0 {
		return blockErr(ErrLength, "S(%s) parameter 0", b.S)
	}
	if b.Kind == KindS && b.S == IFS && b.INF[0] > MaxIFS {
		return blockErr(ErrLength, "S(IFS) parameter %d is above %d", b.INF[0], MaxIFS)
	}
	return nil
}

// Append encodes b after dst.
func Append(dst []byte, b Block, edc EDC) ([]byte, error) {
	pcb := b.PCB()
	_, max, err := parsePCB(pcb)
	if err != nil {
		return nil, err
	}
	if err := check(b, max, MaxIFS); err != nil {
		return nil, err
	}
	start := len(dst)
	dst = append(dst, b.NAD, pcb, byte(len(b.INF)))
	dst = append(dst, b.INF...)
	return appendEDC(dst, dst[start:], edc), nil
}

// Encode returns the bytes of b.
func Encode(b Block, edc EDC) ([]byte, error) { return Append(nil, b, edc) }

// DecodeOptions say what a receiver accepts.
type DecodeOptions struct {
	NAD byte // the only node address accepted
	EDC EDC
	IFS int // longest INF accepted; 0 means MaxIFS
}

// Decode reads one block at the start of buf and returns it with the number
// of bytes it took. ErrIncomplete means buf is a valid beginning; any other
// error is a *BlockError, detected as early as the bytes allow (the NAD,
// PCB and LEN before the rest has arrived). INF aliases buf.
func Decode(buf []byte, o DecodeOptions) (Block, int, error) {
	ifs := o.IFS
	if ifs <= 0 || ifs > MaxIFS {
		ifs = MaxIFS
	}
	if len(buf) == 0 {
		return Block{}, 0, ErrIncomplete
	}
	if buf[0] != o.NAD {
		return Block{}, 0, blockErr(ErrNAD, "NAD %02X, want %02X", buf[0], o.NAD)
	}
	if len(buf) < 2 {
		return Block{}, 0, ErrIncomplete
	}
	b, max, err := parsePCB(buf[1])
	if err != nil {
		return Block{}, 0, err
	}
	if len(buf) < 3 {
		return Block{}, 0, ErrIncomplete
	}
	n := int(buf[2])
	if b.Kind == KindI && n > ifs {
		return Block{}, 0, blockErr(ErrLength, "LEN %d is longer than the IFS %d", n, ifs)
	}
	if b.Kind != KindI && n != max {
		return Block{}, 0, blockErr(ErrLength, "%s-block LEN %d (want %d)", b.Kind, n, max)
	}
	total := 3 + n + o.EDC.Len()
	if len(buf) < total {
		return Block{}, 0, ErrIncomplete
	}
	body := buf[:3+n]
	if got, want := buf[3+n:total], appendEDC(nil, body, o.EDC); string(got) != string(want) {
		return Block{}, 0, blockErr(ErrEDC, "EDC % X, computed % X", got, want)
	}
	b.NAD = buf[0]
	b.INF = buf[3 : 3+n : 3+n]
	if err := check(b, max, ifs); err != nil {
		return Block{}, 0, err
	}
	return b, total, nil
}

func appendEDC(dst, body []byte, edc EDC) []byte {
	if edc == CRC {
		c := crc16(body)
		return append(dst, byte(c>>8), byte(c))
	}
	var x byte
	for _, c := range body {
		x ^= c
	}
	return append(dst, x)
}

// crc16 is CRC-16/CCITT-FALSE (poly 1021, init FFFF, no reflection, no
// final XOR), table-driven: the standard library has no CRC-16, and a
// dozen lines do not justify a module.
func crc16(b []byte) uint16 {
	c := uint16(0xFFFF)
	for _, x := range b {
		c = c<<8 ^ crcTable[byte(c>>8)^x]
	}
	return c
}

var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// Split cuts a message into I-block information fields of at most ifs
// bytes (at least one, possibly empty).
func Split(msg []byte, ifs int) [][]byte {
	if ifs <= 0 || ifs > MaxIFS {
		ifs = MaxIFS
	}
	var out [][]byte
	for len(msg) > ifs {
		out = append(out, msg[:ifs:ifs])
		msg = msg[ifs:]
	}
	return append(out, msg)
}
