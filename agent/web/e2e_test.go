package web

import (
	"bytes"
	"context"
	"encoding/json"
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
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	d := fakeDaemonSetup(t)
	spec, _ := json.Marshal(map[string]any{"argv": d.argv, "env": d.env})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "run.mjs")
	cmd.Dir = e2e
	cmd.Env = append(os.Environ(),
		"WEB_DAEMON="+string(spec), "WEB_BASE="+d.base, "WEB_ARTIFACTS="+art, "CHROMIUM="+chromium,
		"WEB_CURRENCY="+d.currency, "WEB_AMOUNT="+d.amount, "WEB_SLOW_AMOUNT="+d.slowAmount)
	if d.token != "" {
		cmd.Env = append(cmd.Env, "WEB_TOKEN="+d.token)
	} else {
		cmd.Env = append(cmd.Env, "WEB_TOKEN_FILE="+d.tokenFile)
	}
	if d.qrAmount != "" && zbar {
		cmd.Env = append(cmd.Env, "WEB_QR_AMOUNT="+d.qrAmount, "WEB_QR_BODY="+d.qrBody)
	} else {
		t.Log("merchant-presented QR check not run: " + map[bool]string{true: "no QR payments on this daemon", false: "zbarimg missing"}[zbar])
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
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
	qrAmount, qrBody string
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

// fakeDaemonSetup runs this test binary again as the fake daemon.
func fakeDaemonSetup(t *testing.T) daemonUnderTest {
	addr := freePort(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return daemonUnderTest{
		argv:     []string{exe, "-test.run=^$"},
		env:      map[string]string{fakeDaemonEnv: addr + " " + t.TempDir()},
		base:     "http://" + addr,
		token:    fakeToken,
		currency: "EUR", amount: "12.34", slowAmount: "7.77",
		qrAmount: "42.42", qrBody: "{}",
	}
}
