package reader

import "fmt"

// SW is an ISO 7816-4 status word (SW1 SW2). A SW other than 9000 is an error.
type SW uint16

// Status words the EMV flow branches on.
const (
	SWOK                   SW = 0x9000
	SWWrongLength          SW = 0x6700
	SWSecurityNotSatisfied SW = 0x6982
	SWConditionsNotSatisf  SW = 0x6985
	SWFileNotFound         SW = 0x6A82
	SWFunctionNotSupported SW = 0x6A81
	SWRecordNotFound       SW = 0x6A83
	SWReferenceNotFound    SW = 0x6A88
	SWInsNotSupported      SW = 0x6D00
	SWClaNotSupported      SW = 0x6E00
	SWSelectedFileInvalid  SW = 0x6283
	SWAppBlocked           SW = 0x6A81
)

// SW1 and SW2 return the two bytes.
func (s SW) SW1() byte { return byte(s >> 8) }

// SW2 returns the second status byte.
func (s SW) SW2() byte { return byte(s) }

// OK reports 9000.
func (s SW) OK() bool { return s == SWOK }

// Error makes SW an error.
func (s SW) Error() string {
	return fmt.Sprintf("status word %04X (%s)", uint16(s), s.meaning())
}

func (s SW) meaning() string {
	switch {
	case s == SWOK:
		return "success"
	case s.SW1() == 0x61:
		return "more data available"
	case s.SW1() == 0x6C:
		return "wrong Le"
	case s.SW1() == 0x62 || s.SW1() == 0x63:
		return "warning"
	}
	switch s {
	case SWWrongLength:
		return "wrong length"
	case SWSecurityNotSatisfied:
		return "security status not satisfied"
	case SWConditionsNotSatisf:
		return "conditions of use not satisfied"
	case SWFileNotFound:
		return "file or application not found"
	case SWFunctionNotSupported:
		return "function not supported"
	case SWRecordNotFound:
		return "record not found"
	case SWReferenceNotFound:
		return "referenced data not found"
	case SWInsNotSupported:
		return "instruction not supported"
	case SWClaNotSupported:
		return "class not supported"
	case 0x6A86:
		return "incorrect P1 P2"
	case 0x6984:
		return "referenced data invalidated"
	}
	return "error"
}

// SplitResponse separates a response APDU into data and status word.
func SplitResponse(resp []byte) ([]byte, SW, error) {
	if len(resp) < 2 {
		return nil, 0, &ShortResponseError{Len: len(resp)}
	}
	n := len(resp) - 2
	return resp[:n], SW(uint16(resp[n])<<8 | uint16(resp[n+1])), nil
}

// ShortResponseError is a response shorter than its status word.
type ShortResponseError struct{ Len int }

func (e *ShortResponseError) Error() string {
	return fmt.Sprintf("reader: response of %d bytes has no status word", e.Len)
}
