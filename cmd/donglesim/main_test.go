package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posagent/emv"
	firmwareprofiles "posagent/firmware-profiles"
	"posagent/internal/syncbuf"
	"posagent/reader/serial"
	"posagent/reader/serial/device/devicetest"
)

// start runs donglesim in-process on a pty behind dir/rfcomm0.
func start(t *testing.T, args ...string) (string, chan struct{}, *syncbuf.Buffer) {
	t.Helper()
	link := filepath.Join(t.TempDir(), "rfcomm0")
	drops := make(chan struct{})
	var stderr syncbuf.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"--link", link}, args...), drops, &stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("donglesim exited %d: %s", code, stderr.String())
		}
	})
	for i := 0; ; i++ {
		if _, err := os.Stat(link); err == nil {
			break
		}
		if i == 500 {
			t.Fatalf("no %s: %s", link, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return link, drops, &stderr
}

func dongle(t *testing.T, link string) *serial.Dongle {
	t.Helper()
	set, err := firmwareprofiles.EmbeddedDongles()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := set.Lookup("donglesim")
	d, err := serial.New(serial.Options{Path: link, Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestTapAndInfo(t *testing.T) {
	link, _, stderr := start(t, "--card", "mastercard", "--serial", "SN-9", "--battery", "12", "--flip-every", "5")
	d := dongle(t, link)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	info, err := d.Info(ctx)
	if err != nil || info.Serial != "SN-9" || info.Battery != 12 || !info.Low {
		t.Fatalf("info %+v %v", info, err)
	}
	card, err := d.WaitCard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := devicetest.Terminal().Run(ctx, card, emv.Transaction{Amount: 2500})
	card.Close()
	if err != nil || res.Outcome != emv.OnlineRequest || res.Scheme != "mastercard" {
		t.Fatalf("tap: %v %v", res, err)
	}
	if !strings.Contains(stderr.String(), "ready on "+link) {
		t.Fatalf("stderr: %s", stderr.String())
	}
}

// TestLinkComesBack drops the link on demand (what SIGUSR1 does): the path
// disappears, comes back to a new pty, and the dongle reconnects.
func TestLinkComesBack(t *testing.T) {
	link, drops, stderr := start(t, "--drop-for", "300ms")
	d := dongle(t, link)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := d.Info(ctx); err != nil {
		t.Fatal(err)
	}
	first, _ := os.Readlink(link)
	drops <- struct{}{}
	time.Sleep(100 * time.Millisecond)
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("link still there during the drop: %v", err)
	}
	if _, err := d.Info(ctx); err != nil {
		t.Fatalf("Info after the link came back: %v (stats drops %d reconnects %d resynchs %d)", err, d.Stats().LinkDrops.Load(), d.Stats().Reconnects.Load(), d.Stats().Resynchs.Load())
	}
	second, _ := os.Readlink(link)
	if d.Stats().Reconnects.Load() != 1 || strings.Count(stderr.String(), "ready on") != 2 {
		t.Fatalf("reconnects %d (%s -> %s): %s", d.Stats().Reconnects.Load(), first, second, stderr.String())
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"--link", "x", "extra"}, {"--link", "x", "--battery", "101"}, {"--link", "x", "--profile", "nope"}, {"--link", "x", "--card", "nope"}} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, nil, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}
