package pcsc

import (
	"errors"
	"fmt"

	"github.com/ebfe/scard"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrNoService means pcscd is not reachable: not started, stopped, or
	// restarting.
	ErrNoService = errors.New("PC/SC service not available: is pcscd running? (scripts/pcsc-stack.sh start)")
	// ErrCardRemoved means the card left the field (or was reset by someone
	// else): whatever the transaction had done is void.
	ErrCardRemoved = errors.New("card removed")
	// ErrReaderGone means the reader was unplugged or is unknown to pcscd.
	ErrReaderGone = errors.New("reader unavailable")
	// ErrNoCard means there is no card on the reader.
	ErrNoCard = errors.New("no card on the reader")
	// ErrSharingViolation means another application holds the card exclusively.
	ErrSharingViolation = errors.New("card in use by another application")
	// ErrClosed means the Card or Context was closed.
	ErrClosed = errors.New("pcsc: use of closed handle")
	// ErrAPDU means a command APDU was refused before it reached the reader
	// (empty, or longer than the reader profile allows).
	ErrAPDU = errors.New("command APDU refused")
)

// OpError is a failed PC/SC operation. It never holds APDU bytes.
type OpError struct {
	Op     string      // "establish", "list readers", "connect", "transmit", ...
	Reader string      // empty for context-wide operations
	Code   scard.Error // the PC/SC return code, 0 when the failure is ours
	Err    error       // a sentinel above, or the cause
}

func (e *OpError) Error() string {
	s := "pcsc: " + e.Op
	if e.Reader != "" {
		s += fmt.Sprintf(" on %q", e.Reader)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Code != 0 {
		s += fmt.Sprintf(" (%s, 0x%08X)", codeName(e.Code), uint32(e.Code))
	}
	return s
}

// Unwrap gives the sentinel (or cause) and the raw PC/SC code.
func (e *OpError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.Code != 0 {
		errs = append(errs, e.Code)
	}
	return errs
}

// opError wraps err (usually a scard.Error) from operation op.
func opError(op, reader string, err error) error {
	if err == nil {
		return nil
	}
	var oe *OpError
	if errors.As(err, &oe) {
		return err
	}
	var code scard.Error
	if !errors.As(err, &code) {
		return &OpError{Op: op, Reader: reader, Err: err}
	}
	return &OpError{Op: op, Reader: reader, Code: code, Err: sentinel(code)}
}

// sentinel maps a PC/SC return code to the sentinel callers branch on.
func sentinel(code scard.Error) error {
	switch code {
	case scard.ErrNoService, scard.ErrServiceStopped:
		return ErrNoService
	case scard.ErrRemovedCard, scard.ErrResetCard, scard.ErrUnpoweredCard, scard.ErrUnresponsiveCard:
		return ErrCardRemoved
	case scard.ErrNoSmartcard:
		return ErrNoCard
	case scard.ErrReaderUnavailable, scard.ErrUnknownReader, scard.ErrNoReadersAvailable:
		return ErrReaderGone
	case scard.ErrSharingViolation:
		return ErrSharingViolation
	}
	return code
}

// serviceLost reports errors after which the PC/SC context must be
// established again.
func serviceLost(err error) bool {
	var code scard.Error
	if !errors.As(err, &code) {
		return errors.Is(err, ErrNoService)
	}
	switch code {
	case scard.ErrNoService, scard.ErrServiceStopped, scard.ErrInvalidHandle, scard.ErrCommError:
		return true
	}
	return false
}

func codeName(code scard.Error) string {
	switch code {
	case scard.ErrCancelled:
		return "SCARD_E_CANCELLED"
	case scard.ErrInvalidHandle:
		return "SCARD_E_INVALID_HANDLE"
	case scard.ErrTimeout:
		return "SCARD_E_TIMEOUT"
	case scard.ErrSharingViolation:
		return "SCARD_E_SHARING_VIOLATION"
	case scard.ErrNoSmartcard:
		return "SCARD_E_NO_SMARTCARD"
	case scard.ErrProtoMismatch:
		return "SCARD_E_PROTO_MISMATCH"
	case scard.ErrNotTransacted:
		return "SCARD_E_NOT_TRANSACTED"
	case scard.ErrReaderUnavailable:
		return "SCARD_E_READER_UNAVAILABLE"
	case scard.ErrUnknownReader:
		return "SCARD_E_UNKNOWN_READER"
	case scard.ErrNoService:
		return "SCARD_E_NO_SERVICE"
	case scard.ErrServiceStopped:
		return "SCARD_E_SERVICE_STOPPED"
	case scard.ErrNoReadersAvailable:
		return "SCARD_E_NO_READERS_AVAILABLE"
	case scard.ErrCommError:
		return "SCARD_F_COMM_ERROR"
	case scard.ErrUnresponsiveCard:
		return "SCARD_W_UNRESPONSIVE_CARD"
	case scard.ErrUnpoweredCard:
		return "SCARD_W_UNPOWERED_CARD"
	case scard.ErrResetCard:
		return "SCARD_W_RESET_CARD"
	case scard.ErrRemovedCard:
		return "SCARD_W_REMOVED_CARD"
	case scard.ErrInsufficientBuffer:
		return "SCARD_E_INSUFFICIENT_BUFFER"
	case scard.ErrUnsupportedFeature:
		return "SCARD_E_UNSUPPORTED_FEATURE"
	}
	return fmt.Sprintf("PC/SC error 0x%08X", uint32(code))
}
