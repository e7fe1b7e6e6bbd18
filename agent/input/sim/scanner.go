package sim

import (
	"context"
	"errors"
)

// Scanner is the built-in simulated QR scanner: the code of a payment is
// the one shown with Show (a customer's phone held to the scanner). Until
// then Scan waits, like a scanner nobody uses.
type Scanner struct {
	name  string
	codes chan string
}

// ErrScannerBusy: a code shown earlier has not been scanned yet.
var ErrScannerBusy = errors.New("sim: a code is already waiting to be scanned")

// NewScanner returns a simulated scanner named name ("" = "qr-simulated").
func NewScanner(name string) *Scanner {
	if name == "" {
		name = "qr-simulated"
	}
	return &Scanner{name: name, codes: make(chan string, 1)}
}

// Name implements agent.Scanner.
func (s *Scanner) Name() string { return s.name }

// Show holds code to the scanner: the payment scanning now, or the next
// one, reads it.
func (s *Scanner) Show(code string) error {
	if code == "" {
		return errors.New("sim: empty code")
	}
	select {
	case s.codes <- code:
		return nil
	default:
		return ErrScannerBusy
	}
}

// Scan implements agent.Scanner.
func (s *Scanner) Scan(ctx context.Context) (string, error) {
	select {
	case code := <-s.codes:
		return code, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
