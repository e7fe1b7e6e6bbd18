package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"posagent/agent"
	"posagent/agent/config"
	inputserial "posagent/agent/input/serial"
	"posagent/emv"
	firmwareprofiles "posagent/firmware-profiles"
	"posagent/reader"
	"posagent/reader/serial"
)

// serialPrefix names a dongle reader: "serial:/dev/rfcomm0".
const serialPrefix = "serial:"

// serialReaderPath returns the device path of a "serial:PATH" reader name.
func serialReaderPath(name string) (string, bool) {
	p, ok := strings.CutPrefix(name, serialPrefix)
	return p, ok && p != ""
}

// newDongle returns the dongle on path with the named dongle profile ("":
// the fallback), the embedded profiles overridden by profDir/dongles.
func newDongle(path, profileID, profDir string, log *slog.Logger) (*serial.Dongle, error) {
	set, err := firmwareprofiles.LoadDongles(profDir)
	if err != nil {
		return nil, err
	}
	prof, ok := set.Lookup(profileID)
	if !ok {
		return nil, fmt.Errorf("no dongle profile %q", profileID)
	}
	return serial.New(serial.Options{Path: path, Profile: prof, Logger: log})
}

// serialTapInput is the engine input of `tap --reader serial:PATH`: wrap
// sees each card (the trace recorder) with the reader name and profile.
func serialTapInput(d *serial.Dongle, wrap func(name, profile string, card reader.Card) emv.Card, log *slog.Logger) agent.Reader {
	return inputserial.New(d, inputserial.Options{Logger: log,
		Wrap: func(name string, card *serial.Card) emv.Card { return wrap(name, d.Profile().ID, card) }})
}

// dongleView is a dongle as `posagent readers` lists it.
func dongleView(ctx context.Context, path, profileID, profDir string) readerView {
	v := readerView{Reader: serialPrefix + path, Kind: "serial", Contactless: true}
	d, err := newDongle(path, profileID, profDir, nil)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	defer d.Close()
	v.Profile, v.Model, v.TestOnly = d.Profile().ID, d.Profile().Name, d.Profile().TestOnly
	info, err := d.Info(ctx)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	b := info.Battery
	v.Model, v.Firmware, v.Serial, v.Battery, v.BatteryLow, v.Charging = info.Model, info.Firmware, info.Serial, &b, info.Low, info.Charging
	return v
}

// dongleSummary is the CARD column of a dongle: its device info and battery.
func dongleSummary(v readerView) string {
	if v.Error != "" {
		return "unreachable: " + v.Error
	}
	s := fmt.Sprintf("%s fw %s sn %s", v.Model, v.Firmware, v.Serial)
	if v.Battery != nil {
		s += fmt.Sprintf(", battery %d%%", *v.Battery)
	}
	if v.BatteryLow {
		s += " LOW"
	}
	if v.Charging {
		s += " charging"
	}
	return s
}

// pathList is a repeatable path flag.
type pathList []string

func (p *pathList) String() string { return strings.Join(*p, ",") }

func (p *pathList) Set(v string) error {
	if v == "" {
		return errors.New("empty path")
	}
	*p = append(*p, strings.TrimPrefix(v, serialPrefix))
	return nil
}

// serialInputs are the engine inputs of the dongles in the daemon config
// ([[readers.serial]]); close closes their ports. serve appends them to the
// engine's readers.
func serialInputs(list []config.Dongle, log *slog.Logger) (inputs []agent.Reader, close func(), err error) {
	var dongles []*serial.Dongle
	close = func() {
		for _, d := range dongles {
			d.Close()
		}
	}
	for i, dc := range list {
		d, err := newDongle(dc.Path, dc.Profile, "", log.With("reader", serialPrefix+dc.Path))
		if err != nil {
			close()
			return nil, nil, fmt.Errorf("readers.serial[%d]: %w", i, err)
		}
		dongles = append(dongles, d)
		inputs = append(inputs, inputserial.New(d, inputserial.Options{Logger: log}))
	}
	return inputs, close, nil
}
