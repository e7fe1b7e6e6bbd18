package serial_test

import (
	"context"
	"testing"
	"time"

	"posagent/emv"
	firmwareprofiles "posagent/firmware-profiles"
	"posagent/reader/serial"
	"posagent/reader/serial/device"
	"posagent/reader/serial/device/devicetest"
)

func simProfile(t testing.TB) *firmwareprofiles.Dongle { return devicetest.Profile(t, "donglesim") }

func softCard(t testing.TB, preset string) func() (device.Card, error) {
	return devicetest.SoftCard(t, preset)
}

type sim = devicetest.Sim

func startSim(t testing.TB, prof *firmwareprofiles.Dongle, o device.Options) *sim {
	return devicetest.Start(t, prof, o)
}

func openDongle(t testing.TB, s *sim, prof *firmwareprofiles.Dongle) *serial.Dongle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := serial.Open(ctx, serial.Options{Path: s.Path, Profile: prof})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// tap waits for the card and runs the kernel with the cardsim test keys.
func tap(ctx context.Context, d *serial.Dongle, amount int64) (*emv.Result, error) {
	card, err := d.WaitCard(ctx)
	if err != nil {
		return nil, err
	}
	defer card.Close()
	term := devicetest.Terminal()
	return term.Run(ctx, card, emv.Transaction{Amount: amount})
}

// direct runs the same transaction on the software card without a dongle.
func direct(t testing.TB, preset string, amount int64) *emv.Result {
	t.Helper()
	c, err := softCard(t, preset)()
	if err != nil {
		t.Fatal(err)
	}
	res, err := devicetest.Terminal().Run(context.Background(), c, emv.Transaction{Amount: amount})
	if err != nil {
		t.Fatal(err)
	}
	return res
}
