// Package qrscan puts the QR inputs of qr/scan (cameras, serial barcode
// scanners, folders, MJPEG streams) behind the engine's Scanner interface
// (Name, Scan), and gives the engine its QR classifier: which payment
// scheme a consumer-presented code belongs to. cmd/ wires them into the
// engine config (Scanners, ClassifyQR).
package qrscan

import (
	"context"
	"errors"
	"fmt"
	"io"

	"posagent/qr"
	"posagent/qr/scan"
)

// Input is one QR input as the engine sees it.
type Input struct {
	name string
	s    *scan.Scanner
}

// New wraps a scanner under a name (the input's name in status, payments
// and config).
func New(name string, s *scan.Scanner) *Input { return &Input{name: name, s: s} }

// Name identifies the input.
func (in *Input) Name() string { return in.name }

// ErrClosed: the input's source has ended (a folder or stream at its end,
// a serial port that went away).
var ErrClosed = errors.New("qrscan: input closed")

// Scan blocks until a new code is read (the scanner's duplicate window
// applies: a code held in front of the camera is read once) or ctx ends.
func (in *Input) Scan(ctx context.Context) (string, error) {
	c, err := in.s.Next(ctx)
	if err == io.EOF {
		return "", fmt.Errorf("%w: %s", ErrClosed, in.name)
	}
	if err != nil {
		return "", err
	}
	return c.Text, nil
}

// Close closes the scanner and its source.
func (in *Input) Close() error { return in.s.Close() }

// ErrNotConsumerCode: the scanned text is no consumer-presented payment
// code (a merchant-presented code, a URL, a broken CPM payload).
var ErrNotConsumerCode = errors.New("qrscan: not a consumer-presented payment code")

// Classify is the engine's QR classifier: the scheme of a consumer-
// presented code, the qr.Format names ("wechat-pay", "alipay", "unionpay",
// "emvco-cpm"). A merchant-presented payload, an EMVCo CPM payload that
// does not decode, or an unknown text is an error wrapping
// ErrNotConsumerCode (never with the code in it).
func Classify(code string) (string, error) {
	f := qr.Classify(code)
	switch {
	case f.Wallet():
		return string(f), nil
	case f == qr.FormatCPM:
		if _, err := qr.DecodeCPM(code); err != nil {
			return "", fmt.Errorf("%w: %w", ErrNotConsumerCode, err)
		}
		return string(f), nil
	case f == qr.FormatMPM:
		return "", fmt.Errorf("%w: a merchant-presented code (the customer scans it, not the cashier)", ErrNotConsumerCode)
	}
	return "", fmt.Errorf("%w: unknown format", ErrNotConsumerCode)
}
