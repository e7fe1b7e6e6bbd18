package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCommandEndToEnd builds acqsim and runs it as users do: init, serve
// (a real process), load against it, SIGTERM, journal totals.
func TestCommandEndToEnd(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "acqsim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("acqsim %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tlsDir := filepath.Join(dir, "tls")
	run("init", tlsDir)
	journal := filepath.Join(dir, "journal.jsonl")
	rules := filepath.Join(dir, "rules.json")
	os.WriteFile(rules, []byte(`{"rules":[{"min_amount":1000000,"response_code":"51"}]}`), 0o644)

	srv := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--tls", tlsDir, "--journal", journal, "--rules", rules)
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	sc := bufio.NewScanner(stdout)
	addrc := make(chan string, 1)
	go func() {
		for sc.Scan() {
			if m := regexp.MustCompile(`listening on (\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrc:
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not start: %s", stderr.String())
	}
	out := run("load", "--addr", addr, "--tls", tlsDir, "--terminals", "5", "--duration", "300ms")
	if !regexp.MustCompile(`^\d+ auth/s  p50 \S+  p99 \S+`).MatchString(out) || !strings.Contains(out, "errors 0") {
		t.Fatalf("load output: %s", out)
	}
	out = run("load", "--addr", addr, "--tls", tlsDir, "--terminals", "3", "--duration", "200ms", "--financial")
	if !strings.Contains(out, "errors 0") {
		t.Fatalf("financial load output: %s", out)
	}
	srv.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	tot := run("journal", journal)
	if !regexp.MustCompile(`auth +count \d+ approved \d+ declined 0`).MatchString(tot) ||
		!regexp.MustCompile(`financial +count \d+ approved \d+ declined 0`).MatchString(tot) ||
		!regexp.MustCompile(`net\[978\] [1-9]\d*`).MatchString(tot) {
		t.Fatalf("journal totals:\n%s", tot)
	}
	if spec := run("spec"); !strings.Contains(spec, `"posagent ISO 8583:1987 v1"`) {
		t.Fatalf("spec output: %.200s", spec)
	}
	// Usage errors exit 2.
	if err := exec.Command(bin, "bogus").Run(); err == nil {
		t.Fatal("bogus subcommand succeeded")
	} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("bogus subcommand: %v", err)
	}
}
