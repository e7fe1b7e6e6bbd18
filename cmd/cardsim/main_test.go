package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posagent/emv/cardsim"
	"posagent/internal/syncbuf"
	"posagent/reader"
	"posagent/reader/pcsc"
	"posagent/reader/pcsc/pcsctest"
)

const ppse = "00A404000E325041592E5359532E444446303100"

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no card", nil, 2, "--card is required"},
		{"unknown preset", []string{"--card", "diners-club-1962"}, 2, "unknown"},
		{"negative repeat", []string{"--card", "visa", "--repeat", "-1"}, 2, "negative"},
		{"extra argument", []string{"--card", "visa", "now"}, 2, "unexpected argument"},
		{"bad flag", []string{"--cards", "visa"}, 2, "flag provided but not defined"},
		{"driver not listening", []string{"--card", "visa", "--vpcd", "127.0.0.1:1"}, 1, "is pcscd running with the vsmartcard-vpcd driver?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errOut); code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if !strings.Contains(strings.ToLower(errOut.String()), strings.ToLower(tc.want)) {
				t.Errorf("stderr %q does not say %q", errOut.String(), tc.want)
			}
		})
	}
}

func TestList(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--list"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	got := strings.Fields(out.String())
	if strings.Join(got, ",") != strings.Join(cardsim.Presets(), ",") {
		t.Errorf("--list = %q", got)
	}
}

// start runs cardsim in-process until the test ends; it returns the exit
// code channel and stderr.
func start(t *testing.T, args ...string) (<-chan int, *syncbuf.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var errOut syncbuf.Buffer
	done := make(chan int, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		done <- run(ctx, args, &bytes.Buffer{}, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			t.Error("cardsim did not stop")
		}
		time.Sleep(pcsctest.RemovalSeen)
	})
	return done, &errOut
}

func openPCSC(t *testing.T) *pcsc.Context {
	t.Helper()
	pc, err := pcsc.Open(pcsc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

func connect(t *testing.T, pc *pcsc.Context, r string) *pcsc.Card {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	if _, err := pc.WaitCard(ctx, func(n string) bool { return n == r }); err != nil {
		t.Fatalf("no card on %s: %v", r, err)
	}
	k, err := pc.Connect(ctx, r, pcsc.ConnectOptions{Contactless: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// TestCrossCheckPyscard: pyscard, reader/pcsc and the software card itself
// see the same answer to SELECT PPSE from the card cardsim attached.
func TestCrossCheckPyscard(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	for _, preset := range []string{"visa", "mastercard", "unionpay"} {
		t.Run(preset, func(t *testing.T) {
			start(t, "--card", preset, "--vpcd", pcsctest.Addr1)
			pc := openPCSC(t)
			k := connect(t, pc, pcsctest.Reader1)
			data, sw, err := reader.Exchange(context.Background(), k, reader.Select([]byte("2PAY.SYS.DDF01")))
			if err != nil {
				t.Fatal(err)
			}
			ours := append(data, sw.SW1(), sw.SW2())

			theirs := pcsctest.PyscardTransmit(t, pcsctest.Reader1, ppse)

			p, _ := cardsim.Preset(preset)
			soft, err := cardsim.New(p)
			if err != nil {
				t.Fatal(err)
			}
			own, err := soft.Transmit(context.Background(), pcsctest.MustHex(ppse))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, theirs) || !bytes.Equal(ours, own) || sw != reader.SWOK {
				t.Errorf("SELECT PPSE:\n pyscard       % X\n reader/pcsc   % X\n software card % X", theirs, ours, own)
			}
		})
	}
}

func TestRemoveAfterAPDUs(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	done, errOut := start(t, "--card", "visa", "--vpcd", pcsctest.Addr0, "--remove-after-apdus", "2")
	k := connect(t, openPCSC(t), pcsctest.Reader0)
	for i := 0; i < 2; i++ {
		if _, err := k.Transmit(context.Background(), pcsctest.MustHex(ppse)); err != nil {
			t.Fatalf("APDU %d: %v", i+1, err)
		}
	}
	if _, err := k.Transmit(context.Background(), pcsctest.MustHex(ppse)); !errors.Is(err, pcsc.ErrCardRemoved) {
		t.Errorf("APDU 3: %v, want ErrCardRemoved", err)
	}
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(errOut.String(), "pulled mid-transaction after 2 APDUs") {
			t.Errorf("exit %d: %s", code, errOut.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cardsim still running after the card was pulled")
	}
}

// TestRepeatTaps: --repeat 2 --hold taps twice; a watcher sees two insertions.
func TestRepeatTaps(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	pc := openPCSC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var inserted, removed int
	ready := make(chan struct{})
	watched := make(chan error, 1)
	go func() {
		watched <- pc.Watch(ctx, pcsc.WatchOptions{}, func(e pcsc.Event) bool {
			if e.Reader != pcsctest.Reader0 {
				return true
			}
			switch e.Kind {
			case pcsc.ReaderAdded:
				close(ready)
			case pcsc.CardInserted:
				inserted++
			case pcsc.CardRemoved:
				removed++
			}
			return removed < 2
		})
	}()
	<-ready
	done, errOut := start(t, "--card", "mastercard", "--vpcd", pcsctest.Addr0, "--repeat", "2", "--hold", "600ms", "--gap", "800ms")
	if err := <-watched; err != nil {
		t.Fatalf("watch: %v (inserted %d removed %d)", err, inserted, removed)
	}
	if inserted != 2 {
		t.Errorf("%d insertions, want 2", inserted)
	}
	select {
	case code := <-done:
		if code != 0 || strings.Count(errOut.String(), "removed after") != 2 {
			t.Errorf("exit %d: %s", code, errOut.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cardsim did not end after 2 taps")
	}
}

// TestKilledProcess attaches a card from a real cardsim process and kills
// it with SIGKILL: pcscd sees the card leave and a connected client gets a
// typed removal.
func TestKilledProcess(t *testing.T) {
	pcsctest.Require(t)
	pcsctest.Lock(t)
	bin := filepath.Join(t.TempDir(), "cardsim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--card", "unionpay", "--vpcd", pcsctest.Addr0)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); time.Sleep(pcsctest.RemovalSeen) })
	pc := openPCSC(t)
	k := connect(t, pc, pcsctest.Reader0)
	if _, err := k.Transmit(context.Background(), pcsctest.MustHex(ppse)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pc.WaitRemoval(ctx, pcsctest.Reader0); err != nil {
		t.Fatalf("WaitRemoval after kill: %v", err)
	}
	if _, err := k.Transmit(context.Background(), pcsctest.MustHex(ppse)); !errors.Is(err, pcsc.ErrCardRemoved) {
		t.Errorf("Transmit after kill: %v, want ErrCardRemoved", err)
	}
}
