package scan

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestSerialScannerPTY drives a serial barcode scanner on a real
// pseudo-terminal: go.bug.st/serial opens the device side, the test writes
// what a scanner sends on the other.
func TestSerialScannerPTY(t *testing.T) {
	cases := []struct {
		name, eol string
		send      []string
		want      []string
	}{
		{"cr", "", []string{"134567890123456789\r", "134567890123456789\r", "000201ABC\r"}, []string{"134567890123456789", "000201ABC"}},
		{"crlf-as-cr", "\r", []string{"6212345678901234567\r\n", "2812345678901234\r\n"}, []string{"6212345678901234567", "2812345678901234"}},
		{"lf-split-writes", "\n", []string{"hQVDUFYw", "MWE=\n", "\n", "second\n"}, []string{"hQVDUFYwMWE=", "second"}},
		{"custom-eot", "\x04", []string{"a b c\x04", "d\x04"}, []string{"a b c", "d"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer ptmx.Close()
			defer tty.Close()
			sp, err := OpenSerial(tty.Name(), SerialOptions{Baud: 115200, EOL: c.eol, Poll: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			s := NewTextScanner(sp, Options{})
			defer s.Close()
			go func() {
				for _, w := range c.send {
					ptmx.Write([]byte(w))
					time.Sleep(15 * time.Millisecond)
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for _, want := range c.want {
				code, err := s.Next(ctx)
				if err != nil {
					t.Fatalf("waiting for %q: %v", want, err)
				}
				if code.Text != want || code.Source != tty.Name() {
					t.Fatalf("got %q from %s, want %q", code.Text, code.Source, want)
				}
			}
		})
	}
}

func TestSerialOverlongLineAndCancel(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	sp, err := OpenSerial(tty.Name(), SerialOptions{Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	var skipped []error
	s := NewTextScanner(sp, Options{OnError: func(err error) { skipped = append(skipped, err) }})
	go func() {
		junk := strings.Repeat("X", 1024)
		for i := 0; i < 10; i++ { // 10 kB without a CR: dropped up to the CR
			ptmx.Write([]byte(junk))
		}
		ptmx.Write([]byte("\rgood\r"))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := s.Next(ctx)
	if err != nil || c.Text != "good" {
		t.Fatalf("got %q %v", c.Text, err)
	}
	if len(skipped) != 1 || !errors.Is(skipped[0], ErrLineTooLong) {
		t.Fatalf("skipped %v", skipped)
	}
	// Nothing more is sent: Next returns when the context ends.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	start := time.Now()
	if _, err := s.Next(ctx2); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("cancel: %v after %v", err, time.Since(start))
	}
	if _, err := OpenSerial("/dev/nonexistent-scanner", SerialOptions{}); err == nil {
		t.Fatal("opened a missing device")
	}
}

// TestSerialNextTakesTurns: a cancelled Next still inside its read and a
// new Next do not read the port together (run with -race).
func TestSerialNextTakesTurns(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	defer tty.Close()
	sp, err := OpenSerial(tty.Name(), SerialOptions{Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := NewTextScanner(sp, Options{})
	defer s.Close()
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		go s.Next(ctx)
		time.Sleep(5 * time.Millisecond)
		cancel()
	}
	go ptmx.Write([]byte("after\r"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := s.Next(ctx)
	if err != nil || c.Text != "after" {
		t.Fatalf("%q %v", c.Text, err)
	}
}
