package qr

import (
	"errors"
	"fmt"
)

// Sentinel causes of MPM and CPM errors, for errors.Is.
var (
	// ErrTruncated: an ID, length or value runs past the end of its text.
	ErrTruncated = errors.New("truncated")
	// ErrID: an ID or length that is not two decimal digits.
	ErrID = errors.New("ID or length not two digits")
	// ErrDuplicate: the same ID (MPM) or tag (CPM) twice in one template.
	ErrDuplicate = errors.New("duplicate")
	// ErrNesting: a template whose value is not a list of data objects.
	ErrNesting = errors.New("bad template nesting")
	// ErrNoCRC: no CRC (ID 63) as the last data object.
	ErrNoCRC = errors.New("no CRC (63) as last object")
	// ErrCRC: the CRC in ID 63 does not match the payload.
	ErrCRC = errors.New("CRC mismatch")
	// ErrEncoding: the text is not valid UTF-8 (MPM) or base64 (CPM).
	ErrEncoding = errors.New("bad encoding")
	// ErrTooLong: a value longer than a two-digit length can say (encode).
	ErrTooLong = errors.New("value longer than 99 characters")
	// ErrFormatIndicator: CPM without 85 "CPV01" as its first object.
	ErrFormatIndicator = errors.New("payload format indicator missing or wrong")
	// ErrTLV: CPM bytes that are not BER-TLV.
	ErrTLV = errors.New("bad BER-TLV")
	// ErrRule: an EMVCo data rule broken (see *RuleError); an error only
	// when checking strictly.
	ErrRule = errors.New("EMVCo rule")
)

// MPMError is a structural error in a merchant-presented payload: the data
// object's path ("62.05"), where it starts (in characters) and why.
type MPMError struct {
	Path   string // ID path of the object, "" when at the top before any ID
	Offset int    // character offset in the payload
	Err    error  // one of the Err* sentinels, possibly wrapped with detail
}

func (e *MPMError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("qr: mpm: ID %s at %d: %v", e.Path, e.Offset, e.Err)
	}
	return fmt.Sprintf("qr: mpm: at %d: %v", e.Offset, e.Err)
}

// Unwrap returns the cause.
func (e *MPMError) Unwrap() error { return e.Err }

// CPMError is a structural error in a consumer-presented payload: the tag
// path ("61.5A") and why. It never carries the value.
type CPMError struct {
	Path string
	Err  error
}

func (e *CPMError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("qr: cpm: tag %s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("qr: cpm: %v", e.Err)
}

// Unwrap returns the cause.
func (e *CPMError) Unwrap() error { return e.Err }

// RuleError is one EMVCo data rule a merchant-presented payload breaks.
// It unwraps to ErrRule.
type RuleError struct {
	Path string // ID path, "54" or "62.05"
	Rule string // short name: "mandatory", "format", "amount", "tip", "length", "order"
	Msg  string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("qr: mpm: ID %s: %s: %s", e.Path, e.Rule, e.Msg)
}

// Unwrap returns ErrRule.
func (e *RuleError) Unwrap() error { return ErrRule }
