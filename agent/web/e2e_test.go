package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBrowser runs e2e/run.mjs: the display and the console in headless
// Chromium against a daemon process that the script kills with SIGKILL and
// starts again. Without node, chromium or the npm packages it fails in CI
// (CI=true) and skips elsewhere.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	need := func(what, hint string) {
		msg := "browser test needs " + what + " (" + hint + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		need("node", "apt-get install nodejs, or scripts/deps.sh")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		need(chromium, "apt-get install chromium, or scripts/deps.sh")
	}
	e2e, _ := filepath.Abs("e2e")
	for _, m := range []string{"playwright-core", "axe-core"} {
		if _, err := os.Stat(filepath.Join(e2e, "node_modules", m, "package.json")); err != nil {
			need("npm package "+m, "cd agent/web/e2e && npm ci, or scripts/deps.sh")
		}
	}
	zbar := true
	if _, err := exec.LookPath("zbarimg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("browser test needs zbarimg (apt-get install zbar-tools, or scripts/deps.sh)")
		}
		zbar = false
	}

	art := filepath.Join(e2e, "artifacts")
	os.RemoveAll(art)
	b := browserRun{node: node, chromium: chromium, e2e: e2e, zbar: zbar}
	if d, ok := realDaemonSetup(t); ok {
		t.Run("serve", func(t *testing.T) { b.run(t, d, "", filepath.Join(art, "serve")) })
		// The merchant-presented code through the QR work's qrdisplay,
		// which serve does not mount yet.
		t.Run("engine-qr", func(t *testing.T) { b.run(t, engineDaemonSetup(t), "qr", filepath.Join(art, "engine-qr")) })
		return
	}
	t.Log("posagent serve does not mount agent/web in this tree: running the real engine and API in a child process")
	t.Run("engine", func(t *testing.T) { b.run(t, engineDaemonSetup(t), "", filepath.Join(art, "engine")) })
}

// browserRun runs e2e/run.mjs once against a daemon.
type browserRun struct {
	node, chromium, e2e string
	zbar                bool
}

func (b browserRun) run(t *testing.T, d daemonUnderTest, only, art string) {
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	node, chromium, e2e, zbar := b.node, b.chromium, b.e2e, b.zbar
	spec, _ := json.Marshal(map[string]any{"argv": d.argv, "env": d.env})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "run.mjs")
	cmd.Dir = e2e
	cmd.Env = append(os.Environ(),
		"WEB_DAEMON="+string(spec), "WEB_BASE="+d.base, "WEB_ARTIFACTS="+art, "CHROMIUM="+chromium,
		"WEB_CURRENCY="+d.currency, "WEB_AMOUNT="+d.amount, "WEB_SLOW_AMOUNT="+d.slowAmount, "WEB_ONLY="+only)
	if d.ops {
		cmd.Env = append(cmd.Env, "WEB_OPS=1")
	}
	if d.present != "" {
		cmd.Env = append(cmd.Env, "WEB_PRESENT="+d.present)
	}
	if d.token != "" {
		cmd.Env = append(cmd.Env, "WEB_TOKEN="+d.token)
	} else {
		cmd.Env = append(cmd.Env, "WEB_TOKEN_FILE="+d.tokenFile)
	}
	if d.qrAmount != "" && zbar {
		cmd.Env = append(cmd.Env, "WEB_QR_AMOUNT="+d.qrAmount, "WEB_QR_BODY="+d.qrBody, "WEB_QR_PAYLOAD_PATH="+d.qrPayloadPath)
	} else {
		t.Log("merchant-presented QR check not run: " + map[bool]string{true: "no QR payments on this daemon", false: "zbarimg missing"}[zbar])
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		t.Log(l)
	}
	if err != nil {
		if b, rerr := os.ReadFile(filepath.Join(art, "daemon.log")); rerr == nil {
			t.Logf("daemon.log (last 4 KiB):\n%s", tail(b, 4096))
		}
		t.Fatalf("browser test failed: %v (screenshots and axe reports in %s)", err, art)
	}
	if !strings.Contains(out.String(), " passed, 0 failed") {
		t.Fatal("browser test printed no summary")
	}
	t.Logf("artifacts in %s", art)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// daemonUnderTest is how run.mjs starts the daemon and what it may ask of it.
type daemonUnderTest struct {
	argv             []string
	env              map[string]string
	base             string
	token, tokenFile string
	currency, amount string
	slowAmount       string
	present          string // JSON {path, body} that taps the simulated card
	ops              bool   // refunds and voids work
	qrAmount, qrBody string
	qrPayloadPath    string // GET qrPayloadPath+id: the payment's payload as text
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildCmd builds a command of this module into a temp folder.
func buildCmd(t *testing.T, pkg string) string {
	t.Helper()
	root, _ := filepath.Abs("../..")
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, "./"+pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// startAcqsim runs acqsim with fresh certificates in acq, a rule that holds
// the answer to the slow amount (7.77), so the daemon can be killed while
// its request is out, and one that declines 6.66. It returns the address.
func startAcqsim(t *testing.T, acqsim, dir, acq string) string {
	t.Helper()
	if b, err := exec.Command(acqsim, "init", acq).CombinedOutput(); err != nil {
		t.Fatalf("acqsim init: %v\n%s", err, b)
	}
	rules := filepath.Join(dir, "rules.json")
	os.WriteFile(rules, []byte(`{"rules":[{"name":"slow","amount":777,"delay":"6s"},{"name":"decline","amount":666,"response_code":"51"}]}`), 0o644)
	addr := freePort(t)
	ac := exec.Command(acqsim, "serve", "--listen", addr, "--tls", acq, "--journal", filepath.Join(dir, "journal.jsonl"), "--rules", rules)
	ac.Stdout, ac.Stderr = os.Stderr, os.Stderr
	if err := ac.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ac.Process.Kill(); ac.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("acqsim did not listen on " + addr)
	return ""
}

// serveWiresPages reports whether `posagent serve` mounts these pages.
func serveWiresPages() bool {
	files, _ := filepath.Glob("../../cmd/posagent/*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(`"posagent/agent/web"`)) {
			return true
		}
	}
	return false
}

// realDaemonSetup describes `posagent serve` with the simulated reader
// waiting for a card, acqsim as the acquirer and the API on a free
// loopback port.
func realDaemonSetup(t *testing.T) (daemonUnderTest, bool) {
	if !serveWiresPages() {
		return daemonUnderTest{}, false
	}
	posagent := buildCmd(t, "cmd/posagent")
	dir := t.TempDir()
	acq := filepath.Join(dir, "acq")
	acqAddr := startAcqsim(t, buildCmd(t, "cmd/acqsim"), dir, acq)
	apiAddr := freePort(t)
	cfg := filepath.Join(dir, "posagent.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`data_dir = %q
key_dir = %q
[log]
format = "text"
level = "debug"
[terminal]
merchant_name = "WEB TEST SHOP 測試商店"
currency = "EUR"
test_keys = true
[acquirer]
address = %q
client_cert = %q
client_key = %q
ca = %q
response_timeout = "10s"
[readers]
pcsc = false
[readers.simulated]
enabled = true
card = ""
[api]
listen = %q
`, filepath.Join(dir, "data"), filepath.Join(dir, "keys"), acqAddr,
		filepath.Join(acq, "client.pem"), filepath.Join(acq, "client-key.pem"), filepath.Join(acq, "ca.pem"), apiAddr)), 0o644)
	return daemonUnderTest{
		argv:      []string{posagent, "serve", "--config", cfg},
		base:      "http://" + apiAddr,
		tokenFile: filepath.Join(dir, "keys", "api.token"),
		currency:  "EUR", amount: "12.34", slowAmount: "7.77",
		present: `{"path":"/v1/simulator/present","body":{"card":"visa"}}`,
		ops:     true,
	}, true
}
