package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"posagent/internal/syncbuf"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets tests run the real binary: the test executable started
// with POSAGENT_MAIN=1 runs posagent with the unit-separator (0x1F) separated POSAGENT_ARGS.
func TestMain(m *testing.M) {
	if os.Getenv("POSAGENT_MAIN") == "1" {
		os.Args = append([]string{"posagent"}, strings.Split(os.Getenv("POSAGENT_ARGS"), "\x1f")...)
		main()
		return
	}
	os.Exit(m.Run())
}

// serveChild is one life of `posagent serve` as a real process.
type serveChild struct {
	cmd  *exec.Cmd
	done chan error
	logs *syncbuf.Buffer
}

// startChild starts the daemon on e's config and waits until it is ready.
func (e *serveEnv) startChild(t *testing.T) *serveChild {
	t.Helper()
	c := &serveChild{done: make(chan error, 1), logs: &syncbuf.Buffer{}}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), "POSAGENT_MAIN=1", "POSAGENT_ARGS=serve\x1f--config\x1f"+e.cfgFile)
	c.cmd.Stderr = c.logs
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	if err := waitReady("http://"+e.config().API.Listen, 15*time.Second, c.done); err != nil {
		t.Fatalf("%v\n%s", err, c.logs.String())
	}
	return c
}

// waitReady polls GET /readyz until it answers 200, exited reports the
// process gone, or timeout passes.
func waitReady(base string, timeout time.Duration, exited <-chan error) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("serve exited before ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("serve not ready in %v: %v", timeout, err)
		}
		time.Sleep(time.Millisecond)
	}
}

func (c *serveChild) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}
