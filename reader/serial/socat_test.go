package serial_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	bugst "go.bug.st/serial"

	"posagent/emv"
	"posagent/reader/serial"
	"posagent/reader/serial/device"
	"posagent/reader/serial/frame"
)

// TestOverSocat runs a tap with both ends on ordinary serial ports of
// go.bug.st/serial, joined by socat (an independent pty relay, installed by
// scripts/deps.sh) instead of creack/pty: the device side is not the pty
// master this time, and socat relays the bytes in its own chunks.
func TestOverSocat(t *testing.T) {
	socat, err := exec.LookPath("socat")
	if err != nil {
		t.Skip("socat not installed (scripts/deps.sh installs it)")
	}
	dir := t.TempDir()
	host, dev := filepath.Join(dir, "host"), filepath.Join(dir, "dev")
	cmd := exec.Command(socat, "pty,raw,echo=0,link="+host, "pty,raw,echo=0,link="+dev)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		_, e1 := os.Stat(host)
		_, e2 := os.Stat(dev)
		if e1 == nil && e2 == nil {
			break
		}
		if i == 300 {
			t.Fatal("socat ptys did not appear")
		}
		time.Sleep(10 * time.Millisecond)
	}
	prof := simProfile(t)
	port, err := bugst.Open(dev, &bugst.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatal(err)
	}
	d := device.New(device.Options{EDC: frame.CRC, IFS: prof.MaxBlock, BWT: prof.BWT, NewCard: softCard(t, "amex"),
		Faults: device.Faults{DropEvery: 5}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx, port) }()
	t.Cleanup(func() { cancel(); port.Close(); <-done })

	dg, err := serial.Open(ctx, serial.Options{Path: host, Profile: prof})
	if err != nil {
		t.Fatal(err)
	}
	defer dg.Close()
	want := direct(t, "amex", 4321)
	tctx, tcancel := context.WithTimeout(ctx, 20*time.Second)
	defer tcancel()
	res, err := tap(tctx, dg, 4321)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != want.Outcome || res.Commands != want.Commands || res.Cryptogram != want.Cryptogram || d.APDUs() != res.Commands {
		t.Fatalf("tap %v %d %s (device %d APDUs), direct %v %d %s", res.Outcome, res.Commands, res.Cryptogram, d.APDUs(),
			want.Outcome, want.Commands, want.Cryptogram)
	}
	if res.Outcome != emv.OnlineRequest || dg.Stats().BadBlocks.Load() == 0 {
		t.Fatalf("outcome %v, stats %v", res.Outcome, statsOf(dg))
	}
}
