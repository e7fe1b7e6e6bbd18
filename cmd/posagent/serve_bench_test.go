package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/agent"
	"posagent/agent/api"
	"posagent/emv"
	"posagent/emv/cardsim"
	"posagent/offline"
	"posagent/uplink"
)

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		i := int(float64(len(lat))*p) - 1
		return float64(lat[max(0, min(i, len(lat)-1))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// BenchmarkPaymentViaAPI: one online Visa payment through the local API
// (HTTP over loopback, blocking POST /v1/payments) of an in-process
// daemon: simulated reader, the kernel, the engine's fsync'd bbolt
// commits, the uplink over mutual TLS to acqsim with its fsync'd journal.
func BenchmarkPaymentViaAPI(b *testing.B) {
	e := newServeEnv(b, "")
	d, err := startDaemon(e.config(), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	defer d.stop()
	c := &api.Client{BaseURL: "http://" + d.listeners[0].Addr().String(), Token: d.token}
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := c.Status(ctx)
		if st.Uplink.Up || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		p, err := c.Pay(ctx, api.PaymentBody{ID: fmt.Sprintf("bench-%d-%d", b.N, i), Amount: 1234, Currency: "EUR"})
		lat = append(lat, time.Since(start))
		if err != nil || p.State != agent.StateApproved {
			b.Fatalf("payment %d: %s %v", i, p.State, err)
		}
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

// BenchmarkPaymentParts is the sum of the parts of BenchmarkPaymentViaAPI
// measured the same way, without the daemon: the kernel with the software
// card in process, then the uplink round trip over mutual TLS to acqsim
// with its reversal armed and released in a real offline.Store (the two
// fsync'd commits an online payment costs).
func BenchmarkPaymentParts(b *testing.B) {
	e := newServeEnv(b, "")
	store, err := offline.Open(filepath.Join(b.TempDir(), offline.DBFileName), offline.Options{Limits: map[string]offline.Limit{"*": {}}})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	a := e.config().Acquirer
	ctls, err := uplink.TLSFiles{CAFile: a.CA, CertFile: a.ClientCert, KeyFile: a.ClientKey}.Load()
	if err != nil {
		b.Fatal(err)
	}
	stan, err := uplink.OpenSTAN(filepath.Join(b.TempDir(), "stan"), 0)
	if err != nil {
		b.Fatal(err)
	}
	cfg := emv.DefaultConfig()
	client, err := uplink.New(uplink.Config{Addr: e.acqAddr, TLS: ctls, TerminalID: cfg.TerminalID, MerchantID: cfg.MerchantID,
		MCC: fmt.Sprintf("%04d", cfg.MCC), AcquirerID: "12345", Queue: store, STAN: stan})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	if err := client.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	profile, err := cardsim.Preset("visa")
	if err != nil {
		b.Fatal(err)
	}
	card, err := cardsim.New(profile)
	if err != nil {
		b.Fatal(err)
	}
	cfg.TestKeys = true
	term := &emv.Terminal{Config: cfg}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		res, err := term.Run(ctx, card, emv.Transaction{Amount: 1234, Currency: cfg.CurrencyCode})
		if err != nil || res.Outcome != emv.OnlineRequest {
			b.Fatalf("kernel: %v %v", res, err)
		}
		tx := uplink.Transaction{ID: fmt.Sprintf("parts-%d-%d", b.N, i), PAN: res.PAN, Expiry: res.Expiry,
			Amount: 1234, Currency: fmt.Sprintf("%03d", cfg.CurrencyCode), EntryMode: uplink.EntryContactless, ICC: res.ICCData}
		r, err := client.Purchase(ctx, tx)
		lat = append(lat, time.Since(start))
		if err != nil || !r.Approved() {
			b.Fatalf("uplink: %+v %v", r, err)
		}
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// posagentBinary builds the real posagent binary once.
func posagentBinary(b *testing.B) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "posagent-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "posagent")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		b.Fatal(binErr)
	}
	return binPath
}

// BenchmarkServeStartToReady: the real `posagent serve` binary from exec to
// GET /readyz answering 200 (config, keys, bbolt open and check, uplink
// started, API listening); then its idle RSS and the binary's size.
func BenchmarkServeStartToReady(b *testing.B) {
	bin := posagentBinary(b)
	e := newServeEnv(b, "")
	base := "http://" + e.config().API.Listen
	var rss []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "serve", "--config", e.cfgFile)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		if err := waitReady(base, 10*time.Second, nil); err != nil {
			cmd.Process.Kill()
			b.Fatal(err)
		}
		b.StopTimer()
		if i == 0 {
			time.Sleep(500 * time.Millisecond) // idle
			rss = append(rss, vmRSSMB(b, cmd.Process.Pid))
		}
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		b.StartTimer()
	}
	if len(rss) > 0 {
		b.ReportMetric(rss[0], "idle-RSS-MB")
	}
	fi, err := os.Stat(bin)
	if err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "binary-MB")
	}
}

// BenchmarkExecBinaryHelp is the process-start floor of the same binary:
// exec, runtime start, print usage, exit.
func BenchmarkExecBinaryHelp(b *testing.B) {
	bin := posagentBinary(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := exec.Command(bin, "--help").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

func vmRSSMB(b *testing.B, pid int) float64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
