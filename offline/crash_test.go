package offline

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildChild builds internal/crashchild into a temp dir.
func buildChild(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "crashchild")
	cmd := exec.Command("go", "build", "-o", bin, "./internal/crashchild")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building crash child: %v\n%s", err, out)
	}
	return bin
}

// TestCrashKill9 starts a real process that enqueues from four goroutines
// (and forwards) and reports every acknowledged id, kills it with SIGKILL at
// random moments, reopens the file and checks that every acknowledged entry
// is there exactly once and that the file is consistent.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	bin := buildChild(t)
	path := filepath.Join(t.TempDir(), DBFileName)
	journal := filepath.Join(t.TempDir(), "journal")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	const kills = 60
	acked := map[string]bool{}
	midRekey := 0 // kills that left the key file holding old and new keys
	deadline := time.Now().Add(60 * time.Second)
	start := time.Now()
	for round := 0; round < kills; round++ {
		if time.Now().After(deadline) {
			t.Fatalf("only %d kills in 60 s", round)
		}
		// Every other round also rotates the payload key in a loop, so
		// that kills land in the middle of a rekey.
		cmd := exec.Command(bin, "-db", path, "-journal", journal, "-prefix", fmt.Sprintf("r%02d", round), fmt.Sprintf("-rekey=%v", round%2 == 1))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() || sc.Text() != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: child did not start: %q %s", round, sc.Text(), stderr.String())
		}
		killAfter := time.Duration(rng.IntN(60_000)+1_000) * time.Microsecond
		timer := time.AfterFunc(killAfter, func() { cmd.Process.Signal(syscall.SIGKILL) })
		n := 0
		for sc.Scan() {
			id, ok := strings.CutPrefix(sc.Text(), "ack ")
			if !ok {
				t.Fatalf("round %d: child said %q", round, sc.Text())
			}
			if acked[id] {
				t.Fatalf("id %s acknowledged twice", id)
			}
			acked[id] = true
			n++
		}
		timer.Stop()
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, not SIGKILL: %s", round, err, stderr.String())
		}

		// Reopen: full consistency check (bbolt pages and queue
		// invariants) runs in Open; in-flight entries are recovered.
		s, err := Open(path, Options{Limits: openLimits})
		if err != nil {
			t.Fatalf("round %d (killed after %v, %d acks): reopen: %v", round, killAfter, n, err)
		}
		seen := map[string]int{}
		err = s.Scan(func(e Entry) error {
			seen[e.ID]++
			if e.State == StateInFlight {
				return fmt.Errorf("%s still in flight after recovery", e.ID)
			}
			return nil
		})
		if err != nil {
			s.Close()
			t.Fatalf("round %d: scan: %v", round, err)
		}
		for id := range acked {
			if seen[id] != 1 {
				s.Close()
				t.Fatalf("round %d: acknowledged %s found %d times", round, id, seen[id])
			}
		}
		for id, c := range seen {
			if c != 1 {
				t.Fatalf("round %d: %s listed %d times", round, id, c)
			}
		}
		// Forwarding across kills: no message arrives twice as a first
		// send; whatever is done arrived; whatever arrived and is still
		// queued will be resent as a repeat.
		received := readJournal(t, journal)
		err = s.Scan(func(e Entry) error {
			r := received[e.ID]
			switch {
			case r.first > 1:
				return fmt.Errorf("%s arrived %d times as a first send", e.ID, r.first)
			case e.State == StateDone && r.first+r.repeat == 0:
				return fmt.Errorf("%s done but never arrived", e.ID)
			case e.State == StatePending && r.first+r.repeat > 0 && !e.Repeat:
				return fmt.Errorf("%s arrived but is pending without the repeat mark", e.ID)
			}
			return nil
		})
		if err != nil {
			s.Close()
			t.Fatalf("round %d: %v", round, err)
		}
		if kf, _ := os.ReadFile(filepath.Join(filepath.Dir(path), KeyFileName)); strings.Count(string(kf), "\nk") > 1 {
			midRekey++
		}
		// Every payload still decrypts with the key file as the kill left it.
		for id := range acked {
			e, err := s.Get(id)
			if err != nil || string(e.Payload) != "payload of "+id {
				s.Close()
				t.Fatalf("round %d: %s: %v %q", round, id, err, e.Payload)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s := mustOpenAt(t, path, Options{Limits: openLimits})
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if len(acked) < kills {
		t.Errorf("only %d acknowledged entries over %d kills", len(acked), kills)
	}
	repeats := 0
	for _, a := range readJournal(t, journal) {
		repeats += a.repeat
	}
	t.Logf("%d SIGKILLs in %v; %d acknowledged entries all present once; states %v; %d resends as repeats after kills; %d reopens found the key file mid-rotation", kills, time.Since(start).Round(time.Millisecond), len(acked), st.ByState, repeats, midRekey)
}

// TestSecondProcess checks both directions with real processes: a second
// process on a held data dir fails fast with ErrLocked, and this process
// fails fast while the child holds the file.
func TestSecondProcess(t *testing.T) {
	bin := buildChild(t)
	path := filepath.Join(t.TempDir(), DBFileName)

	t.Run("child refused while we hold", func(t *testing.T) {
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		start := time.Now()
		out, err := exec.Command(bin, "-db", path, "-mode", "open").Output()
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("child took %v", d)
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 || strings.TrimSpace(string(out)) != "open-error true" {
			t.Fatalf("child: %v %q", err, out)
		}
		if !strings.Contains(string(ee.Stderr), "in use by another process") {
			t.Errorf("child message: %s", ee.Stderr)
		}
	})
	t.Run("we are refused while child holds", func(t *testing.T) {
		cmd := exec.Command(bin, "-db", path, "-mode", "hold")
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() || sc.Text() != "ready" {
			t.Fatalf("child: %q", sc.Text())
		}
		start := time.Now()
		_, err := Open(path, Options{OpenTimeout: 200 * time.Millisecond})
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("open took %v", d)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		// The lock dies with the process.
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("after the holder died: %v", err)
		}
		s.Close()
	})
}

type arrivals struct{ first, repeat int }

func readJournal(t *testing.T, path string) map[string]arrivals {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	out := map[string]arrivals{}
	for _, line := range strings.Split(string(data), "\n") {
		id, how, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		a := out[id]
		if how == "first" {
			a.first++
		} else {
			a.repeat++
		}
		out[id] = a
	}
	return out
}
