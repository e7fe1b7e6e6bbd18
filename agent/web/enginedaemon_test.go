package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"posagent/agent"
	"posagent/agent/api"
	"posagent/agent/config"
	"posagent/agent/input/sim"
	"posagent/agent/qrdisplay"
	"posagent/emv"
	"posagent/offline"
	"posagent/qr/render"
	"posagent/uplink"
)

// The engine daemon is the real engine (agent.Open on a bbolt file, the
// simulated reader, the uplink over mTLS to a real acqsim) behind the real
// local API (agent/api) with these pages mounted, run as a child process
// (this test binary again) so the browser test can kill -9 it. It is what
// `posagent serve` wires, for a tree where serve is not there yet.

const engineDaemonEnv = "POSAGENT_WEB_ENGINE_DAEMON" // JSON engineDaemonConfig

type engineDaemonConfig struct {
	API, Dir, AcqAddr, AcqTLS, Token string
}

func runEngineDaemon(v string) error {
	var c engineDaemonConfig
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return err
	}
	reader, err := sim.New(sim.Options{}) // waits for POST /v1/simulator/present
	if err != nil {
		return err
	}
	tlsCfg, err := uplink.TLSFiles{CAFile: filepath.Join(c.AcqTLS, "ca.pem"), CertFile: filepath.Join(c.AcqTLS, "client.pem"), KeyFile: filepath.Join(c.AcqTLS, "client-key.pem")}.Load()
	if err != nil {
		return err
	}
	keys := filepath.Join(c.Dir, "keys")
	os.MkdirAll(keys, 0o700)
	terminal := emv.DefaultConfig()
	terminal.TestKeys = true // the simulated reader's cards are signed by posagent's test CAs
	eng, err := agent.Open(agent.Config{
		DataFile: filepath.Join(c.Dir, "posagent.db"),
		Store:    offline.Options{KeyFile: filepath.Join(keys, "queue.key"), SecretFile: filepath.Join(keys, "device.secret")},
		Terminal: &terminal,
		Acquirer: &uplink.Config{Addr: c.AcqAddr, TLS: tlsCfg, AcquirerID: "12345"},
		Readers:  []agent.Reader{reader},
	})
	if err != nil {
		return err
	}
	auth, err := api.NewAuth(c.Token)
	if err != nil {
		return err
	}
	// Merchant-presented codes as qrdisplay draws them, and a test route
	// that tells the browser test each payment's payload.
	merchant := qrdisplay.Merchant(config.Terminal{MerchantName: "WEB TEST SHOP", MerchantID: "MERCHANT0000001", MCC: 5999},
		qrdisplay.QRSettings{GUID: "com.posagent.acqsim", City: "PARIS", Country: "FR"})
	payload := qrdisplay.Payload(eng, merchant, "POSAG001")
	var srv *api.Server
	pages, err := New(Options{Engine: eng, Authorize: auth.Check, Merchant: "WEB TEST SHOP 測試商店", DisplayKey: []byte(c.Token), QRWithCard: true,
		QR: QRFromAPI(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.ServeHTTP(w, r) }), func() string { return c.Token })})
	if err != nil {
		return err
	}
	mounts := []api.Mount{{Pattern: "POST /v1/simulator/present", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct{ Card string }
		json.NewDecoder(r.Body).Decode(&b)
		if err := reader.Present(b.Card); err != nil {
			writeError(w, 400, "invalid_request", err.Error())
			return
		}
		writeJSON(w, 200, map[string]string{"presented": b.Card})
	})}}
	mounts = append(mounts, api.Mount{Pattern: qrdisplay.Pattern, Handler: render.Handler(payload)},
		api.Mount{Pattern: "GET /test/qr-payload/{id}", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			text, err := payload(r.Context(), r.PathValue("id"))
			if err != nil {
				writeError(w, 404, "not_found", err.Error())
				return
			}
			w.Write([]byte(text))
		})})
	for _, p := range Patterns {
		mounts = append(mounts, api.Mount{Pattern: p, Handler: pages, Public: true})
	}
	srv, err = api.New(eng, api.Options{Token: c.Token, Mounts: mounts})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.API)
	if err != nil {
		return err
	}
	return srv.Serve(context.Background(), 0, ln)
}

// TestMain runs this test binary as the engine daemon when asked to.
func TestMain(m *testing.M) {
	if v := os.Getenv(engineDaemonEnv); v != "" {
		if err := runEngineDaemon(v); err != nil {
			fmt.Fprintln(os.Stderr, "engine daemon:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// engineDaemonSetup starts acqsim and describes the engine daemon child.
func engineDaemonSetup(t *testing.T) daemonUnderTest {
	acqsim := buildCmd(t, "cmd/acqsim")
	dir := t.TempDir()
	acq := filepath.Join(dir, "acq")
	acqAddr := startAcqsim(t, acqsim, dir, acq)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	const token = "web-e2e-engine-daemon-token-0123456789"
	cfg, _ := json.Marshal(engineDaemonConfig{API: addr, Dir: filepath.Join(dir, "daemon"), AcqAddr: acqAddr, AcqTLS: acq, Token: token})
	return daemonUnderTest{
		argv:     []string{exe, "-test.run=^$"},
		env:      map[string]string{engineDaemonEnv: string(cfg)},
		base:     "http://" + addr,
		token:    token,
		currency: "EUR", amount: "12.34", slowAmount: "7.77",
		present:  `{"path":"/v1/simulator/present","body":{"card":"visa"}}`,
		ops:      true,
		qrAmount: "4.56", qrBody: "{}", qrPayloadPath: "/test/qr-payload/",
	}
}
