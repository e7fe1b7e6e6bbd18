package uplink_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"posagent/offline"
	"posagent/uplink"
	"posagent/uplink/acqsim"
)

// crashChild runs in a child process (see TestCrashWhileWaitingReverses):
// it sends one purchase and waits for an answer that never comes in time.
func crashChild() {
	store, err := offline.Open(os.Getenv("UPLINK_CHILD_STORE"), offline.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	stan, err := uplink.OpenSTAN(os.Getenv("UPLINK_CHILD_STAN"), 0)
	if err != nil {
		os.Exit(3)
	}
	tcfg, err := acqsim.ClientTLSFiles(os.Getenv("UPLINK_CHILD_TLS")).Load()
	if err != nil {
		os.Exit(3)
	}
	c, err := uplink.New(uplink.Config{Addr: os.Getenv("UPLINK_CHILD_ADDR"), TLS: tcfg, TerminalID: testTID,
		MerchantID: testMID, Queue: store, STAN: stan, ResponseTimeout: time.Minute})
	if err != nil {
		os.Exit(3)
	}
	txn := card(&testing.T{}, "crash-1", 9900)
	c.Purchase(context.Background(), txn) // killed while waiting
	os.Exit(4)
}

// TestCrashWhileWaitingReverses kills (SIGKILL) a real process while its
// purchase waits for the host's answer. The reversal armed before the
// request left survives in the offline store; the next client on that store
// releases it and it is sent: the host ends with nothing charged.
func TestCrashWhileWaitingReverses(t *testing.T) {
	e := newEnv(t, `{"rules":[{"amount":9900,"mti":["0200"],"delay":"30s"}]}`, acqsim.Fault{})
	dir := t.TempDir()
	storePath := filepath.Join(dir, "queue.db")
	stanPath := filepath.Join(dir, "stan")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "UPLINK_CRASH_CHILD=1", "UPLINK_CHILD_STORE="+storePath,
		"UPLINK_CHILD_STAN="+stanPath, "UPLINK_CHILD_TLS="+tlsDir, "UPLINK_CHILD_ADDR="+e.addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// The host journals the purchase before the (delayed) answer.
	eventually(t, "purchase at the host", func() bool { return e.count(t, acqsim.KindFinancial) == 1 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	q := storeQueueAt(t, storePath)
	if st := q.state(t, "crash-1"); st != offline.StateHeld {
		t.Fatalf("after the crash the reversal is %q, want held", st)
	}
	stan, err := uplink.OpenSTAN(stanPath, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := e.client(t, q, func(cfg *uplink.Config) { cfg.STAN = stan })
	if st := q.state(t, "crash-1"); st != offline.StatePending {
		t.Fatalf("New left the reversal %q, want pending", st)
	}
	eventually(t, "reversal sent", func() bool { q.drain(t, c); return q.state(t, "crash-1") == offline.StateDone })
	tot := e.totals(t)
	if r := tot.ByKind[acqsim.KindReversal]; r == nil || r.Count != 1 || tot.Net[currency] != 0 {
		t.Fatalf("reversals %+v net %v", r, tot.Net)
	}
	// The new life's STANs continue after the old one's.
	if v, _ := stan.Next(); v <= "000002" {
		t.Fatalf("STAN after restart %s", v)
	}
}

func storeQueueAt(t *testing.T, path string) storeQueue {
	t.Helper()
	s, err := offline.Open(path, offline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return storeQueue{s}
}
