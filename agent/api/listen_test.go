package api_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"posagent/agent"
	"posagent/agent/api"
	"posagent/agent/config"
	"posagent/uplink/acqsim"
)

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

func httptestRequest(method, path, token string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func TestToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "api.token")
	tok, err := api.LoadOrCreateToken(path)
	if err != nil || len(tok) != 64 {
		t.Fatalf("create: %q %v", tok, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v %v", fi.Mode(), err)
	}
	again, err := api.LoadOrCreateToken(path)
	if err != nil || again != tok {
		t.Fatalf("reload: %q %v", again, err)
	}
	os.Chmod(path, 0o644)
	if _, err := api.LoadOrCreateToken(path); err == nil || !strings.Contains(err.Error(), "mode") {
		t.Fatalf("world-readable token accepted: %v", err)
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	if _, err := api.LoadOrCreateToken(short); err == nil {
		t.Fatal("short token accepted")
	}
	if _, err := api.LoadOrCreateToken(filepath.Join(dir, "missing-dir", "api.token")); err == nil {
		t.Fatal("token in a missing directory")
	}
}

func TestListenRefusesPublicWithoutTLS(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		_, err := api.Listen(config.API{Listen: addr})
		if !errors.Is(err, api.ErrPublicWithoutTLS) {
			t.Errorf("Listen(%s) = %v, want ErrPublicWithoutTLS", addr, err)
		}
	}
}

// serveReal runs the server on real listeners until the test ends.
func serveReal(t *testing.T, ls []net.Listener) *api.Server {
	t.Helper()
	f := newFake()
	f.auto = "approve"
	srv, err := api.New(f, api.Options{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, time.Second, ls...) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv
}

func TestListenTCPAndSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	ls, err := api.Listen(config.API{Listen: "127.0.0.1:0", Socket: sock})
	if err != nil {
		t.Fatal(err)
	}
	serveReal(t, ls)
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	for name, c := range map[string]*api.Client{
		"tcp":  {BaseURL: "http://" + ls[0].Addr().String(), Token: testToken},
		"unix": api.NewUnixClient(sock, testToken),
	} {
		p, err := c.Pay(context.Background(), api.PaymentBody{ID: "p-" + name, Amount: 100, Currency: "EUR"})
		if err != nil || p.State != agent.StateApproved {
			t.Fatalf("%s: %+v %v", name, p, err)
		}
	}
	// A second daemon on the same socket is refused while the first serves.
	if _, err := api.Listen(config.API{Socket: sock}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second listener on a live socket: %v", err)
	}
}

func TestListenTLSOnPublicAddress(t *testing.T) {
	// A server certificate for 127.0.0.1 from the acquirer simulator's test CA.
	dir := t.TempDir()
	if err := acqsim.InitCerts(dir); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, acqsim.ServerCertFile), filepath.Join(dir, acqsim.ServerKeyFile)
	ls, err := api.Listen(config.API{Listen: "0.0.0.0:0", TLSCert: certFile, TLSKey: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	serveReal(t, ls)
	pem, _ := os.ReadFile(filepath.Join(dir, acqsim.CAFile))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	port := ls[0].Addr().(*net.TCPAddr).Port
	c := &api.Client{BaseURL: "https://127.0.0.1:" + itoa(port), Token: testToken,
		HTTP: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	st, err := c.Status(context.Background())
	if err != nil || len(st.Readers) != 1 {
		t.Fatalf("status over TLS: %+v %v", st, err)
	}
	// Plain HTTP to the TLS port fails.
	plain := &api.Client{BaseURL: "http://127.0.0.1:" + itoa(port), Token: testToken}
	if _, err := plain.Status(context.Background()); err == nil {
		t.Fatal("plain HTTP answered on the TLS listener")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
