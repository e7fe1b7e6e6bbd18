package serial_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"posagent/emv"
	firmwareprofiles "posagent/firmware-profiles"
	"posagent/reader/serial"
	"posagent/reader/serial/device"
	"posagent/reader/serial/frame"
)

// slack is what a loaded machine (2 cores, several test runs) may add to
// a bound on time; the bounds stay far below "hangs".
const slack = 500 * time.Millisecond

func TestInfo(t *testing.T) {
	prof := simProfile(t)
	s := startSim(t, prof, device.Options{Firmware: "1.4.2", Serial: "DS-000042", Battery: 80})
	d := openDongle(t, s, prof)
	info, err := d.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Model != "donglesim" || info.Firmware != "1.4.2" || info.Serial != "DS-000042" || info.Battery != 80 || info.Low {
		t.Fatalf("info %+v", info)
	}
	if d.Name() != "serial:"+s.Path {
		t.Fatalf("name %s", d.Name())
	}
}

// TestTapEachScheme runs the real kernel through the dongle protocol on a
// pty for every software-card scheme and checks it reaches what a direct
// run on the same card reaches.
func TestTapEachScheme(t *testing.T) {
	prof := simProfile(t)
	for _, preset := range []string{"visa", "mastercard", "unionpay", "amex"} {
		t.Run(preset, func(t *testing.T) {
			want := direct(t, preset, 1234)
			s := startSim(t, prof, device.Options{NewCard: softCard(t, preset)})
			d := openDongle(t, s, prof)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := tap(ctx, d, 1234)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != want.Outcome || res.Scheme != want.Scheme || res.Commands != want.Commands ||
				res.Cryptogram != want.Cryptogram || res.PAN.String() != want.PAN.String() {
				t.Fatalf("tap: %v %s %d %s %s; direct: %v %s %d %s %s", res.Outcome, res.Scheme, res.Commands, res.Cryptogram, res.PAN.String(),
					want.Outcome, want.Scheme, want.Commands, want.Cryptogram, want.PAN.String())
			}
			if res.Outcome != emv.OnlineRequest && res.Outcome != emv.Approved {
				t.Fatalf("outcome %v (%s)", res.Outcome, res.Reason)
			}
			if (res.ODA == nil) != (want.ODA == nil) || (res.ODA != nil && res.ODA.Result != want.ODA.Result) {
				t.Fatalf("ODA %+v, direct %+v", res.ODA, want.ODA)
			}
			if s.Dev.APDUs() != res.Commands {
				t.Fatalf("device saw %d APDUs, kernel sent %d", s.Dev.APDUs(), res.Commands)
			}
		})
	}
}

// TestFaults runs a full tap through each injected fault: the link must
// recover (retransmission, resynchronisation, WTX) and the counters show
// the fault was met.
func TestFaults(t *testing.T) {
	prof := simProfile(t)
	for _, tc := range []struct {
		name   string
		faults device.Faults
		met    func(*serial.Stats) int64
	}{
		{"flipped bits", device.Faults{FlipEvery: 3}, func(s *serial.Stats) int64 { return s.BadBlocks.Load() }},
		{"dropped bytes", device.Faults{DropEvery: 4}, func(s *serial.Stats) int64 { return s.BadBlocks.Load() }},
		{"lost blocks", device.Faults{LoseEvery: 4}, func(s *serial.Stats) int64 { return s.Timeouts.Load() }},
		{"lost on the way in", device.Faults{IgnoreEvery: 3}, func(s *serial.Stats) int64 { return s.Timeouts.Load() }},
		{"line noise", device.Faults{Garbage: 7, GarbageEvery: 2}, func(s *serial.Stats) int64 { return s.Garbage.Load() }},
		{"delay past BWT", device.Faults{Delay: 2 * prof.BWT}, func(s *serial.Stats) int64 { return s.WTX.Load() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := direct(t, "visa", 1500)
			s := startSim(t, prof, device.Options{NewCard: softCard(t, "visa"), Faults: tc.faults})
			d := openDongle(t, s, prof)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := tap(ctx, d, 1500)
			if err != nil {
				t.Fatalf("tap: %v", err)
			}
			if res.Outcome != want.Outcome || res.Cryptogram != want.Cryptogram || res.Commands != want.Commands {
				t.Fatalf("tap %v %s %d, direct %v %s %d", res.Outcome, res.Cryptogram, res.Commands, want.Outcome, want.Cryptogram, want.Commands)
			}
			// Retransmissions are answered from the cache: every APDU ran once.
			if s.Dev.APDUs() != res.Commands {
				t.Fatalf("device ran %d APDUs for %d commands", s.Dev.APDUs(), res.Commands)
			}
			if tc.met(d.Stats()) == 0 {
				t.Fatalf("fault not met: stats %+v", statsOf(d))
			}
		})
	}
}

func statsOf(d *serial.Dongle) map[string]int64 {
	s := d.Stats()
	return map[string]int64{"garbage": s.Garbage.Load(), "bad": s.BadBlocks.Load(), "timeouts": s.Timeouts.Load(),
		"retransmits": s.Retransmits.Load(), "wtx": s.WTX.Load(), "resynchs": s.Resynchs.Load(), "reconnects": s.Reconnects.Load()}
}

// TestChaining uses 16-byte blocks: every APDU and response is chained
// (the BLE UART bridge case).
func TestChaining(t *testing.T) {
	p := *simProfile(t)
	p.MaxBlock = 16
	for _, preset := range []string{"mastercard", "visa"} {
		t.Run(preset, func(t *testing.T) {
			want := direct(t, preset, 999)
			s := startSim(t, &p, device.Options{NewCard: softCard(t, preset), Faults: device.Faults{LoseEvery: 9}})
			d := openDongle(t, s, &p)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := tap(ctx, d, 999)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != want.Outcome || res.Cryptogram != want.Cryptogram || s.Dev.APDUs() != res.Commands {
				t.Fatalf("tap %v %s (%d APDUs on the device, %d sent)", res.Outcome, res.Cryptogram, s.Dev.APDUs(), res.Commands)
			}
		})
	}
}

// TestNeverAnswers: a device that never answers (the pty is open, every
// block is lost) fails with a typed error within the command timeout.
func TestNeverAnswers(t *testing.T) {
	prof := simProfile(t)
	// A deaf device: every block it receives is lost.
	deaf := startSim(t, prof, device.Options{Faults: device.Faults{IgnoreEvery: 1}})
	dd, err := serial.New(serial.Options{Path: deaf.Path, Profile: prof})
	if err != nil {
		t.Fatal(err)
	}
	defer dd.Close()
	t0 := time.Now()
	_, err = dd.Info(context.Background())
	took := time.Since(t0)
	var le *serial.LinkError
	if !errors.As(err, &le) || !(errors.Is(err, serial.ErrLinkDown) || errors.Is(err, serial.ErrNoResponse) || errors.Is(err, serial.ErrTimeout)) {
		t.Fatalf("Info on a deaf device: %v", err)
	}
	if took > prof.InfoTimeout+slack {
		t.Fatalf("took %v, timeout %v", took, prof.InfoTimeout)
	}
}

// TestStuckDevice: the device takes every command and never finishes it,
// sending WTX forever: the command fails with ErrTimeout at its timeout,
// never later.
func TestStuckDevice(t *testing.T) {
	prof := simProfile(t)
	s := startSim(t, prof, device.Options{Faults: device.Faults{Delay: time.Hour}})
	d := openDongle(t, s, prof)
	ctx := context.Background()
	// The delay holds every command; WTX keeps coming, the command
	// timeout still ends it.
	t0 := time.Now()
	_, err := d.Info(ctx)
	took := time.Since(t0)
	var le *serial.LinkError
	if !errors.Is(err, serial.ErrTimeout) || !errors.As(err, &le) || le.Cmd != frame.CmdInfo {
		t.Fatalf("Info on a device that only sends WTX: %v", err)
	}
	if took > prof.InfoTimeout+slack || took < prof.InfoTimeout-prof.CWT {
		t.Fatalf("took %v, timeout %v", took, prof.InfoTimeout)
	}
	if d.Stats().WTX.Load() == 0 {
		t.Fatal("no WTX seen")
	}
}

// TestCancelWhilePolling: no card comes; cancelling the wait ends it at
// once with ErrCancelled, and the link is usable afterwards.
func TestCancelWhilePolling(t *testing.T) {
	prof := simProfile(t)
	s := startSim(t, prof, device.Options{})
	d := openDongle(t, s, prof)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	t0 := time.Now()
	_, err := d.WaitCard(ctx)
	took := time.Since(t0)
	if !errors.Is(err, serial.ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitCard: %v", err)
	}
	if took > 300*time.Millisecond+prof.BWT+slack {
		t.Fatalf("cancel took %v", took)
	}
	if _, err := d.Info(context.Background()); err != nil {
		t.Fatalf("Info after cancel: %v", err)
	}
	if prof.PollTimeout < 5*time.Second {
		t.Fatalf("poll timeout %v: the test needs a poll longer than the cancel", prof.PollTimeout)
	}
}

// TestReconnectMidPayment: the link drops at the third APDU (the pty goes
// away, its path is removed, a new one comes back). The payment fails with
// a typed ErrLinkDown; the next tap reconnects and completes.
func TestReconnectMidPayment(t *testing.T) {
	prof := simProfile(t)
	s := startSim(t, prof, device.Options{NewCard: softCard(t, "visa"), Faults: device.Faults{DropLinkAtAPDU: 3}})
	d := openDongle(t, s, prof)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := tap(ctx, d, 500)
	var le *serial.LinkError
	if !errors.Is(err, serial.ErrLinkDown) || !errors.As(err, &le) || le.Cmd != frame.CmdAPDU {
		t.Fatalf("tap across a drop: %v", err)
	}
	if _, err := os.Stat(s.Path); err == nil {
		// The path may already be back; either way the next tap must work.
		t.Log("path already back")
	}
	res, err := tap(ctx, d, 500)
	if err != nil {
		t.Fatalf("tap after the link came back: %v", err)
	}
	if res.Outcome != emv.OnlineRequest {
		t.Fatalf("outcome %v", res.Outcome)
	}
	if d.Stats().Reconnects.Load() < 1 || d.Stats().LinkDrops.Load() < 1 {
		t.Fatalf("stats %+v", statsOf(d))
	}
}

// TestDropWhileWaiting: the link drops while waiting for a card; WaitCard
// reconnects with backoff and returns the card presented afterwards.
func TestDropWhileWaiting(t *testing.T) {
	prof := simProfile(t)
	s := startSim(t, prof, device.Options{NewCard: softCard(t, "visa"), TapAfter: 800 * time.Millisecond})
	d := openDongle(t, s, prof)
	time.AfterFunc(200*time.Millisecond, func() { s.Drops <- struct{}{} })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := tap(ctx, d, 700)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != emv.OnlineRequest || d.Stats().Reconnects.Load() < 1 {
		t.Fatalf("outcome %v, stats %+v", res.Outcome, statsOf(d))
	}
}

func TestBatteryLow(t *testing.T) {
	prof := simProfile(t)
	s := startSim(t, prof, device.Options{NewCard: softCard(t, "visa"), Battery: 17, BatteryPerTap: 6})
	d := openDongle(t, s, prof)
	ctx := context.Background()
	info, err := d.Info(ctx)
	if err != nil || info.Low || info.Battery != 17 {
		t.Fatalf("info %+v %v", info, err)
	}
	if _, err := tap(ctx, d, 100); err != nil { // 17 -> 11
		t.Fatal(err)
	}
	if info, err = d.Info(ctx); err != nil || !info.Low || info.Battery != 11 {
		t.Fatalf("after a tap: %+v %v", info, err)
	}
	if _, err := tap(ctx, d, 100); err != nil { // 11 -> 5
		t.Fatal(err)
	}
	_, err = d.Poll(ctx, time.Second)
	var se *serial.StatusError
	if !errors.Is(err, serial.ErrBatteryLow) || !errors.As(err, &se) || se.Status != frame.StatusBatteryLow {
		t.Fatalf("poll on an empty battery: %v", err)
	}
	s.Dev.SetBattery(60)
	if _, err := tap(ctx, d, 100); err != nil {
		t.Fatalf("after charging: %v", err)
	}
}

func TestSignalAndUI(t *testing.T) {
	prof := simProfile(t)
	s := startSim(t, prof, device.Options{})
	d := openDongle(t, s, prof)
	ctx := context.Background()
	if err := d.Signal(ctx, firmwareprofiles.SignalSuccess); err != nil {
		t.Fatal(err)
	}
	if u, n := s.Dev.LastUI(); n != 1 || u.LED != frame.LEDGreen || u.BeepMS == 0 {
		t.Fatalf("UI %+v (%d)", u, n)
	}
	if err := d.UI(ctx, frame.UI{Text: "12.34 EUR  TAP CARD"}); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Dev.LastUI(); u.Text != "12.34 EUR  TAP CARD" {
		t.Fatalf("text %q", u.Text)
	}
	if err := d.UI(ctx, frame.UI{Text: "this display text is far too long for two lines"}); !errors.Is(err, frame.ErrMessage) {
		t.Fatalf("long text: %v", err)
	}
}

func TestNoSessionAfterRelease(t *testing.T) {
	prof := simProfile(t)
	s := startSim(t, prof, device.Options{NewCard: softCard(t, "visa")})
	d := openDongle(t, s, prof)
	ctx := context.Background()
	card, err := d.WaitCard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(card.UID()) != 7 || len(card.ATS()) == 0 {
		t.Fatalf("uid % X ats % X", card.UID(), card.ATS())
	}
	if err := card.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := card.Transmit(ctx, []byte{0, 0xA4, 4, 0, 0}); !errors.Is(err, serial.ErrCardLost) {
		t.Fatalf("transmit after close: %v", err)
	}
}
