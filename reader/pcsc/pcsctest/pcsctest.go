// Package pcsctest helps tests that need the real PC/SC stack (pcscd with
// the vsmartcard vpcd driver): it skips or fails clearly when pcscd is not
// running, serialises tests across packages (there is one pcscd and one pair
// of virtual readers per machine), attaches software cards to the virtual
// readers, and restarts pcscd through scripts/pcsc-stack.sh.
//
// It builds without cgo.
package pcsctest

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"posagent/emv/cardsim/vpcd"
)

// Socket is pcscd's client socket.
const Socket = "/run/pcscd/pcscd.comm"

// Reader names of the two vpcd virtual readers and their card-side ports.
const (
	Reader0 = "Virtual PCD 00 00"
	Reader1 = "Virtual PCD 00 01"
	Addr0   = vpcd.DefaultAddr
	Addr1   = vpcd.DefaultAddr2
)

// lockPath is shared by every test package of the module. Attachments end
// (Remove, with its wait) before the lock is released.
const lockPath = "/tmp/posagent-pcsc-test.lock"

// Available reports whether pcscd answers on its socket and vpcd listens.
func Available() error {
	c, err := net.DialTimeout("unix", Socket, time.Second)
	if err != nil {
		return fmt.Errorf("pcscd not reachable at %s: %w", Socket, err)
	}
	_ = c.Close()
	return nil
}

// Require skips the test when pcscd is not running, or fails it when the
// environment variable CI is "true" (CI must run these tests).
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		msg := fmt.Sprintf("needs pcscd with vsmartcard-vpcd: %v; run 'scripts/pcsc-stack.sh install && scripts/pcsc-stack.sh start' (as root)", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// Lock takes the machine-wide lock of the PC/SC test stack until the test
// ends, so that tests of different packages never share a virtual reader.
func Lock(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("pcsctest: lock: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			t.Fatalf("pcsctest: lock %s: %v", lockPath, err)
		}
	case <-time.After(3 * time.Minute):
		f.Close()
		t.Fatalf("pcsctest: lock %s held by another test for 3 minutes", lockPath)
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

// RemovalSeen bounds the time pcscd takes to notice that a virtual card left
// (it polls readers about every 400 ms).
const RemovalSeen = 700 * time.Millisecond

// Attachment is a software card attached to a virtual reader.
type Attachment struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	Stats  vpcd.Stats // valid after Done is closed
	Err    error      // valid after Done is closed
}

// Done is closed when the card has left the reader.
func (a *Attachment) Done() <-chan struct{} { return a.done }

// Remove takes the card away and waits until the connection is closed.
// The first call then waits RemovalSeen, so that the next card attached to
// the same reader is seen as a new card.
func (a *Attachment) Remove() {
	a.cancel()
	<-a.done
	a.once.Do(func() { time.Sleep(RemovalSeen) })
}

// Attach attaches card to the virtual reader at addr until Remove or the end
// of the test. It fails the test when the driver cannot be reached.
func Attach(t testing.TB, addr string, card vpcd.Card, opts vpcd.Options) *Attachment {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &Attachment{cancel: cancel, done: make(chan struct{})}
	attached := make(chan struct{})
	var once sync.Once
	prev := opts.OnAttach
	opts.OnAttach = func() {
		once.Do(func() { close(attached) })
		if prev != nil {
			prev()
		}
	}
	go func() {
		defer close(a.done)
		// Right after pcscd starts, the driver may not listen yet.
		for i := 0; ; i++ {
			a.Stats, a.Err = vpcd.Attach(ctx, addr, card, opts)
			var de *vpcd.DialError
			if !errors.As(a.Err, &de) || i == 50 {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	select {
	case <-attached:
	case <-a.done:
		cancel()
		t.Fatalf("pcsctest: attach to %s: %v", addr, a.Err)
	case <-time.After(8 * time.Second):
		cancel()
		t.Fatalf("pcsctest: attach to %s: no connection after 8 s", addr)
	}
	t.Cleanup(a.Remove)
	return a
}

// Script returns the path of scripts/pcsc-stack.sh, found from the working
// directory up to the module root.
func Script(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "scripts", "pcsc-stack.sh")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("pcsctest: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Stack runs scripts/pcsc-stack.sh with one subcommand (start, stop,
// restart) and fails the test when it fails.
func Stack(t testing.TB, sub string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", Script(t), sub).CombinedOutput()
	if err != nil {
		t.Fatalf("pcsc-stack.sh %s: %v\n%s", sub, err, out)
	}
	t.Logf("pcsc-stack.sh %s: %s", sub, strings.TrimSpace(string(out)))
}

// FixedCard is a tiny software card for transport tests: it answers each
// command found in Answers (keyed by the command's uppercase hex without
// spaces) and 6D00 to anything else. It counts what it saw.
type FixedCard struct {
	ATRBytes []byte
	Answers  map[string][]byte

	mu       sync.Mutex
	commands int
	resets   int
	seen     [][]byte
}

// NewFixedCard returns a card with a contactless-style ATR.
func NewFixedCard(answers map[string]string) *FixedCard {
	c := &FixedCard{ATRBytes: MustHex("3B 80 80 01 01"), Answers: map[string][]byte{}}
	for k, v := range answers {
		c.Answers[strings.ReplaceAll(strings.ToUpper(k), " ", "")] = MustHex(v)
	}
	return c
}

// Transmit answers one command.
func (c *FixedCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commands++
	c.seen = append(c.seen, append([]byte(nil), apdu...))
	if r, ok := c.Answers[strings.ToUpper(hex.EncodeToString(apdu))]; ok {
		return append([]byte(nil), r...), nil
	}
	return []byte{0x6D, 0x00}, nil
}

// Reset counts a power cycle.
func (c *FixedCard) Reset() {
	c.mu.Lock()
	c.resets++
	c.mu.Unlock()
}

// ATR returns the card's ATR.
func (c *FixedCard) ATR() []byte { return c.ATRBytes }

// Commands returns how many commands the card answered.
func (c *FixedCard) Commands() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commands
}

// Seen returns the commands received, in order, as uppercase hex.
func (c *FixedCard) Seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.seen))
	for i, b := range c.seen {
		out[i] = strings.ToUpper(hex.EncodeToString(b))
	}
	return out
}

// MustHex decodes hex with optional spaces, panicking on bad input (test
// literals only).
func MustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(fmt.Sprintf("pcsctest: bad hex %q: %v", s, err))
	}
	return b
}

// pyscardTransmit is an independent PC/SC client: pyscard connects to the
// reader named argv[1], sends the APDU argv[2] (hex) and prints the response.
const pyscardTransmit = `
import sys
from smartcard.System import readers
from smartcard.util import toHexString
r = [r for r in readers() if str(r) == sys.argv[1]][0]
c = r.createConnection()
c.connect()
data, sw1, sw2 = c.transmit(list(bytes.fromhex(sys.argv[2])))
print(toHexString(data + [sw1, sw2]))
c.disconnect()
`

// python returns an interpreter that has pyscard: Debian's python3-pyscard
// lives in /usr/bin/python3's dist-packages, which a pyenv or venv python3
// earlier in PATH does not see.
func python(t testing.TB) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import smartcard").Run() == nil {
			return py
		}
	}
	msg := "needs python3-pyscard for /usr/bin/python3 (scripts/pcsc-stack.sh install)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// PyscardTransmit sends one APDU (hex) to the card on reader through pyscard
// and returns the full response. It skips the test when pyscard is missing
// (fails it in CI).
func PyscardTransmit(t testing.TB, reader, apduHex string) []byte {
	t.Helper()
	py := python(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", pyscardTransmit, reader, apduHex).CombinedOutput()
	if err != nil {
		t.Fatalf("pyscard: %v\n%s", err, out)
	}
	b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(string(out)), " ", ""))
	if err != nil {
		t.Fatalf("pyscard printed %q: %v", out, err)
	}
	return b
}
