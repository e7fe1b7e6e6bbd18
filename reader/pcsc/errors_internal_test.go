package pcsc

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ebfe/scard"
)

func TestOpErrorMapping(t *testing.T) {
	tests := []struct {
		code     scard.Error
		want     error
		lost     bool
		contains string
	}{
		{scard.ErrNoService, ErrNoService, true, "pcscd"},
		{scard.ErrServiceStopped, ErrNoService, true, "SCARD_E_SERVICE_STOPPED"},
		{scard.ErrRemovedCard, ErrCardRemoved, false, "card removed"},
		{scard.ErrResetCard, ErrCardRemoved, false, "SCARD_W_RESET_CARD"},
		{scard.ErrUnresponsiveCard, ErrCardRemoved, false, "card removed"},
		{scard.ErrNoSmartcard, ErrNoCard, false, "no card"},
		{scard.ErrReaderUnavailable, ErrReaderGone, false, "reader unavailable"},
		{scard.ErrUnknownReader, ErrReaderGone, false, "SCARD_E_UNKNOWN_READER"},
		{scard.ErrSharingViolation, ErrSharingViolation, false, "another application"},
		{scard.ErrInvalidHandle, scard.ErrInvalidHandle, true, "SCARD_E_INVALID_HANDLE"},
		{scard.ErrProtoMismatch, scard.ErrProtoMismatch, false, "0x8010000F"},
	}
	for _, tc := range tests {
		t.Run(codeName(tc.code), func(t *testing.T) {
			err := opError("transmit", "R 00 00", fmt.Errorf("wrapped: %w", tc.code))
			if !errors.Is(err, tc.want) || !errors.Is(err, tc.code) {
				t.Errorf("%v: errors.Is(%v) false", err, tc.want)
			}
			if serviceLost(err) != tc.lost {
				t.Errorf("serviceLost = %v", !tc.lost)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.contains) || !strings.HasPrefix(msg, `pcsc: transmit on "R 00 00": `) {
				t.Errorf("message %q", msg)
			}
		})
	}
	if opError("x", "", nil) != nil {
		t.Error("opError(nil) != nil")
	}
	inner := opError("establish context", "", scard.ErrNoService)
	if got := opError("list readers", "", inner); got != inner {
		t.Errorf("an *OpError was wrapped twice: %v", got)
	}
}
