package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"posagent/agent"
	"posagent/agent/config"
	"posagent/reader/serial/device"
	"posagent/reader/serial/device/devicetest"
	"posagent/reader/serial/frame"
	"posagent/uplink/acqsim"
)

// dongleSim runs a software dongle (the donglesim profile) hosting a preset
// card ("": none) on a real pseudo-terminal behind a symlink, as
// /dev/rfcomm0 is.
func dongleSim(t testing.TB, preset string, o device.Options) (string, *device.Device) {
	t.Helper()
	if preset != "" {
		o.NewCard = devicetest.SoftCard(t, preset)
	}
	s := devicetest.Start(t, devicetest.Profile(t, "donglesim"), o)
	return s.Path, s.Dev
}

// TestTapDongleEachScheme runs `posagent tap --reader serial:PATH` on a
// software dongle for every software-card scheme: the same kernel reaches
// what a direct run reaches, and the recording replays the same.
func TestTapDongleEachScheme(t *testing.T) {
	dir := t.TempDir()
	for _, preset := range []string{"visa", "mastercard", "unionpay", "amex"} {
		t.Run(preset, func(t *testing.T) {
			want := tapDirect(t, preset, 1234)
			link, dev := dongleSim(t, preset, device.Options{})
			file := filepath.Join(dir, preset+".trace")
			got, raw := tapRun(t, "--amount", "12.34", "--reader", "serial:"+link, "--dongle-profile", "donglesim", "--record", file, "--unmasked")
			tapSamePayment(t, "dongle tap", got, want)
			if got.Reader != "serial:"+link || got.Profile != "donglesim" {
				t.Errorf("reader %q profile %q", got.Reader, got.Profile)
			}
			if strings.Contains(raw, tapSoftCard(t, preset).Profile().PAN) {
				t.Error("full PAN in tap output")
			}
			if u, n := dev.LastUI(); n < 2 || u.LED != frame.LEDGreen {
				t.Errorf("dongle UI: last %+v of %d, want the success signal", u, n)
			}
			tapReplaySame(t, file, got)
		})
	}
}

// TestTapDongleLinkDrop drops the link at the third APDU: no outcome.
func TestTapDongleLinkDrop(t *testing.T) {
	link, _ := dongleSim(t, "visa", device.Options{Faults: device.Faults{DropLinkAtAPDU: 3}})
	var out, errOut bytes.Buffer
	code := runTap(context.Background(), []string{"--amount", "1.00", "--json", "--test-keys", "--reader", "serial:" + link,
		"--dongle-profile", "donglesim", "--timeout", "10s"}, &out, &errOut)
	// The engine takes a reader failure mid-transaction like a card pulled
	// away (card_error, no outcome); tap asks for the card only once.
	if code != 1 || out.Len() != 0 || !strings.Contains(errOut.String(), "no outcome") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

func TestTapDongleNoCard(t *testing.T) {
	link, _ := dongleSim(t, "", device.Options{})
	var out, errOut bytes.Buffer
	t0 := time.Now()
	code := runTap(context.Background(), []string{"--amount", "1.00", "--reader", "serial:" + link,
		"--dongle-profile", "donglesim", "--timeout", "700ms"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "no card on serial:"+link) || time.Since(t0) > 3*time.Second {
		t.Fatalf("exit %d after %v, stderr %q", code, time.Since(t0), errOut.String())
	}
}

func TestReadersDongle(t *testing.T) {
	link, _ := dongleSim(t, "", device.Options{Firmware: "2.0.1", Serial: "SN-77", Battery: 12})
	missing := filepath.Join(t.TempDir(), "rfcomm9")
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if code := runReaders(ctx, []string{"--json", "--dongle", link, "--dongle", "serial:" + missing, "--dongle-profile", "donglesim"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var views []readerView
	if err := json.Unmarshal(out.Bytes(), &views); err != nil {
		t.Fatal(err)
	}
	byName := map[string]readerView{}
	for _, v := range views {
		byName[v.Reader] = v
	}
	v, ok := byName["serial:"+link]
	if !ok || v.Kind != "serial" || v.Model != "donglesim" || v.Firmware != "2.0.1" || v.Serial != "SN-77" ||
		v.Battery == nil || *v.Battery != 12 || !v.BatteryLow || v.Profile != "donglesim" || v.Error != "" {
		t.Fatalf("dongle view %+v", v)
	}
	if m := byName["serial:"+missing]; m.Error == "" || m.Battery != nil {
		t.Fatalf("missing dongle view %+v", m)
	}

	out.Reset()
	if code := runReaders(ctx, []string{"--dongle", link, "--dongle-profile", "donglesim"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "serial:"+link) || !strings.Contains(out.String(), "battery 12% LOW") {
		t.Fatalf("table:\n%s", out.String())
	}
}

// TestSerialInputsFromConfig builds the engine inputs of [[readers.serial]]
// and takes a card through one, as serve does.
func TestSerialInputsFromConfig(t *testing.T) {
	link, _ := dongleSim(t, "visa", device.Options{})
	cfg, err := config.Parse("test.toml", "[readers]\npcsc = false\n[[readers.serial]]\npath = \""+link+"\"\nprofile = \"donglesim\"")
	if err != nil {
		t.Fatal(err)
	}
	inputs, closeAll, err := serialInputs(cfg.Readers.Serial, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	if len(inputs) != 1 || inputs[0].Name() != "serial:"+link {
		t.Fatalf("inputs %v", inputs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := inputs[0].WaitCard(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := sess.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00, 0x0E, '2', 'P', 'A', 'Y', '.', 'S', 'Y', 'S', '.', 'D', 'D', 'F', '0', '1', 0x00}); err != nil || len(r) < 2 || r[len(r)-2] != 0x90 {
		t.Fatalf("SELECT PPSE: % X %v", r, err)
	}
	sess.Close()
	if _, _, err := serialInputs([]config.Dongle{{Path: "/dev/x", Profile: "nope"}}, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("unknown profile accepted")
	}
}

// TestServeDongle runs the real daemon (engine, bbolt, uplink over mutual
// TLS to acqsim) with a dongle from [[readers.serial]] on a real pty, and
// pays through the local API over TCP: approved online, the acquirer's
// journal has it, and the dongle showed the outcome.
func TestServeDongle(t *testing.T) {
	link, dev := dongleSim(t, "unionpay", device.Options{})
	e := newServeEnvReaders(t, "", fmt.Sprintf("[readers]\npcsc = false\n[[readers.serial]]\npath = %q\nprofile = \"donglesim\"", link))
	_, c := e.start()
	st, err := c.Status(context.Background())
	if err != nil || len(st.Readers) != 1 || st.Readers[0].Name != "serial:"+link {
		t.Fatalf("status %+v %v", st, err)
	}
	p, err := c.Pay(context.Background(), pay("dongle-1", 2345))
	if err != nil || p.State != agent.StateApproved || p.Scheme != "unionpay" || p.Reader != "serial:"+link || p.MaskedPAN == "" {
		t.Fatalf("payment through the dongle: %+v %v", p, err)
	}
	if n := e.totals().ByKind[acqsim.KindFinancial]; n == nil || n.Approved != 1 {
		t.Fatalf("journal: %+v", e.totals().ByKind)
	}
	if u, _ := dev.LastUI(); u.LED != frame.LEDGreen || dev.Taps() != 1 {
		t.Fatalf("dongle: last UI %+v, %d taps", u, dev.Taps())
	}
}
