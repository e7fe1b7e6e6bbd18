package firmwareprofiles

import (
	"context"
	"errors"
	"fmt"
)

// Device is what signalling needs from a connected reader; reader/pcsc's
// Card has both methods.
type Device interface {
	// Transmit sends a (pseudo-)APDU through the reader.
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
	// Escape sends a reader escape command with SCardControl and
	// SCARD_CTL_CODE(ctlCode).
	Escape(ctlCode uint16, in []byte) ([]byte, error)
}

// ErrNoSignal means the reader cannot show that signal: callers carry on.
var ErrNoSignal = errors.New("reader cannot show this signal")

// SignalError is a signal command the reader refused.
type SignalError struct {
	Profile string
	Signal  Signal
	Step    int   // index of the command within the signal
	SW      int   // status word of a refused pseudo-APDU, 0 otherwise
	Err     error // transport error, nil when SW is set
}

func (e *SignalError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("reader profile %s: signal %s command %d: %v", e.Profile, e.Signal, e.Step, e.Err)
	}
	return fmt.Sprintf("reader profile %s: signal %s command %d refused with status %04X", e.Profile, e.Signal, e.Step, e.SW)
}

func (e *SignalError) Unwrap() error { return e.Err }

// Signal shows s on the reader through dev. It returns ErrNoSignal when the
// profile has no command for s. Pseudo-APDUs must be answered with SW1 90
// (some readers put the LED state in SW2).
func (p *Profile) Signal(ctx context.Context, dev Device, s Signal) error {
	if p.LEDBuzzer == nil || len(p.LEDBuzzer.Commands[s]) == 0 {
		return ErrNoSignal
	}
	for i, cmd := range p.LEDBuzzer.Commands[s] {
		if p.LEDBuzzer.Via == ViaEscape {
			if _, err := dev.Escape(p.LEDBuzzer.CtlCode, cmd); err != nil {
				return &SignalError{Profile: p.ID, Signal: s, Step: i, Err: err}
			}
			continue
		}
		resp, err := dev.Transmit(ctx, cmd)
		if err != nil {
			return &SignalError{Profile: p.ID, Signal: s, Step: i, Err: err}
		}
		if len(resp) < 2 {
			return &SignalError{Profile: p.ID, Signal: s, Step: i, Err: fmt.Errorf("response of %d bytes has no status word", len(resp))}
		}
		if sw1 := resp[len(resp)-2]; sw1 != 0x90 {
			return &SignalError{Profile: p.ID, Signal: s, Step: i, SW: int(sw1)<<8 | int(resp[len(resp)-1])}
		}
	}
	return nil
}

// OutcomeSignal is the signal for the end of a card read: success when the
// card was read to an outcome the payment goes on with, failure otherwise.
func OutcomeSignal(ok bool) Signal {
	if ok {
		return SignalSuccess
	}
	return SignalFailure
}
