package serial

import (
	"errors"
	"fmt"

	"posagent/reader/serial/frame"
)

// Sentinel errors callers branch on.
var (
	ErrLinkDown   = errors.New("serial: link to the dongle is down")
	ErrTimeout    = errors.New("serial: command timed out")
	ErrNoResponse = errors.New("serial: dongle does not answer")
	ErrBadBlocks  = errors.New("serial: dongle blocks keep failing their check")
	ErrProtocol   = errors.New("serial: dongle broke the block protocol")
	ErrCancelled  = errors.New("serial: command cancelled")
	ErrAborted    = errors.New("serial: dongle aborted the command")
	ErrNoCard     = errors.New("serial: no card presented")
	ErrCardLost   = errors.New("serial: card session lost")
	ErrBatteryLow = errors.New("serial: dongle battery too low")
	ErrCollision  = errors.New("serial: more than one card in the field")
	ErrRefused    = errors.New("serial: dongle refused the command")
	ErrAPDULength = errors.New("serial: APDU longer than the dongle takes")
	ErrClosed     = errors.New("serial: dongle closed")
)

// LinkError is a failed command: the device path, the command and what went
// wrong. It unwraps to its sentinel (Err) and its cause.
type LinkError struct {
	Path  string
	Cmd   frame.Cmd
	Err   error // one of the sentinels
	Cause error // the OS error, the context error, a *frame.MessageError, ...
}

func (e *LinkError) Error() string {
	s := fmt.Sprintf("%s: %s: %v", e.Path, e.Cmd, e.Err)
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *LinkError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// StatusError is a response status other than OK. It unwraps to the
// sentinel of the status (ErrNoCard, ErrCardLost, ...; ErrRefused for a
// command the device did not take).
type StatusError struct {
	Cmd    frame.Cmd
	Status frame.Status
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("serial: dongle answered %s with %s", e.Cmd, e.Status)
}

func (e *StatusError) Unwrap() error {
	switch e.Status {
	case frame.StatusNoCard:
		return ErrNoCard
	case frame.StatusCardLost, frame.StatusCardError, frame.StatusNoSession:
		return ErrCardLost
	case frame.StatusAborted:
		return ErrAborted
	case frame.StatusBatteryLow:
		return ErrBatteryLow
	case frame.StatusCollision:
		return ErrCollision
	}
	return ErrRefused
}
