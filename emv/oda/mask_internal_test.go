package oda

import (
	"testing"

	cardpan "posagent/emv/pan"
)

func TestMask(t *testing.T) {
	cases := []struct {
		name, in, pan, id string
	}{
		{"16 digits", "4761739001010010", "476173******0010", "476173**********"},
		{"19 digits", "6212345678901234563", "621234*********4563", "621234*************"},
		{"13 digits", "4761739001010", "476173***1010", "476173*******"},
		{"12 digits", "476173900101", "********0101", "476173******"},
		{"8-digit issuer id", "62123456", "****3456", "621234**"},
		{"6-digit issuer id", "476173", "**6173", "476173"},
		{"4 digits", "4761", "****", "4761"},
		{"empty", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := cardpan.Mask(c.in); got != c.pan {
				t.Errorf("pan.Mask = %q, want %q", got, c.pan)
			}
			if got := maskID(c.in); got != c.id {
				t.Errorf("maskID = %q, want %q", got, c.id)
			}
		})
	}
}
