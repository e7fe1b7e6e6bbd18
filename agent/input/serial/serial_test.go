package serial_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"posagent/agent"
	inputserial "posagent/agent/input/serial"
	"posagent/emv"
	"posagent/reader/serial"
	"posagent/reader/serial/device"
	"posagent/reader/serial/device/devicetest"
	"posagent/reader/serial/frame"
)

func newInput(t *testing.T, o device.Options) (*inputserial.Reader, *devicetest.Sim) {
	t.Helper()
	prof := devicetest.Profile(t, "donglesim")
	s := devicetest.Start(t, prof, o)
	d, err := serial.New(serial.Options{Path: s.Path, Profile: prof})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return inputserial.New(d, inputserial.Options{}), s
}

// TestWaitCardAndKernel runs the kernel on the session the input gives, as
// the engine does, and checks the dongle showed present and success.
func TestWaitCardAndKernel(t *testing.T) {
	in, s := newInput(t, device.Options{NewCard: devicetest.SoftCard(t, "unionpay")})
	var r agent.Reader = in
	if r.Name() != "serial:"+s.Path {
		t.Fatalf("name %q", r.Name())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess, err := r.WaitCard(ctx, 1234)
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Dev.LastUI(); u.LED != frame.LEDYellow {
		t.Fatalf("present signal: %+v", u)
	}
	res, err := devicetest.Terminal().Run(ctx, sess, emv.Transaction{Amount: 1234})
	if err != nil || res.Outcome != emv.OnlineRequest || res.Scheme != "unionpay" {
		t.Fatalf("kernel: %v %v", res, err)
	}
	sess.(interface{ Signal(context.Context, bool) }).Signal(ctx, true)
	if u, _ := s.Dev.LastUI(); u.LED != frame.LEDGreen {
		t.Fatalf("success signal: %+v", u)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	if sess.(*inputserial.Session).Profile() != "donglesim" {
		t.Fatal("profile")
	}
}

func TestWaitCardCancelled(t *testing.T) {
	in, _ := newInput(t, device.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := in.WaitCard(ctx, 100)
	if !errors.Is(err, serial.ErrCancelled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitCard: %v", err)
	}
}
