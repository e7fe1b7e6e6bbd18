package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"posagent/agent/config"
)

// ErrPublicWithoutTLS: the API would listen beyond loopback in clear text.
var ErrPublicWithoutTLS = errors.New("posagent api: listening on a non-loopback address requires TLS (api.tls_cert, api.tls_key)")

// Listen opens the API's listeners from its config: TCP (TLS when
// configured; a non-loopback address without TLS is refused, checked on
// the address actually bound) and the optional unix socket (mode 0600, a
// stale socket file replaced).
func Listen(c config.API) ([]net.Listener, error) {
	var ls []net.Listener
	fail := func(err error) ([]net.Listener, error) {
		for _, l := range ls {
			l.Close()
		}
		return nil, err
	}
	if c.Listen != "" {
		var tcfg *tls.Config
		if c.TLS() {
			cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
			if err != nil {
				return fail(fmt.Errorf("posagent api: TLS certificate: %w", err))
			}
			tcfg = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		}
		host, _, err := net.SplitHostPort(c.Listen)
		if err != nil {
			return fail(fmt.Errorf("posagent api: listen %q: %w", c.Listen, err))
		}
		if tcfg == nil && !config.Loopback(host) {
			return fail(fmt.Errorf("%w: %s", ErrPublicWithoutTLS, c.Listen))
		}
		l, err := net.Listen("tcp", c.Listen)
		if err != nil {
			return fail(fmt.Errorf("posagent api: %w", err))
		}
		if a, ok := l.Addr().(*net.TCPAddr); ok && tcfg == nil && !a.IP.IsLoopback() {
			l.Close()
			return fail(fmt.Errorf("%w: %s bound %s", ErrPublicWithoutTLS, c.Listen, a))
		}
		if tcfg != nil {
			l = tls.NewListener(l, tcfg)
		}
		ls = append(ls, l)
	}
	if c.Socket != "" {
		if fi, err := os.Lstat(c.Socket); err == nil {
			if fi.Mode()&os.ModeSocket == 0 {
				return fail(fmt.Errorf("posagent api: %s exists and is not a socket", c.Socket))
			}
			if conn, err := net.DialTimeout("unix", c.Socket, 200*time.Millisecond); err == nil {
				conn.Close()
				return fail(fmt.Errorf("posagent api: %s is in use by another process", c.Socket))
			}
			os.Remove(c.Socket)
		}
		l, err := net.Listen("unix", c.Socket)
		if err != nil {
			return fail(fmt.Errorf("posagent api: %w", err))
		}
		if err := os.Chmod(c.Socket, 0o600); err != nil {
			l.Close()
			return fail(err)
		}
		ls = append(ls, l)
	}
	if len(ls) == 0 {
		return nil, errors.New("posagent api: neither a TCP address nor a socket to listen on")
	}
	return ls, nil
}

// Serve serves the API (and its mounts) on every listener until ctx ends,
// then shuts down: event streams end at once, other requests get up to
// grace to finish. Stop the engine before ending ctx, so that a payment
// request still waiting hears its final state.
func (s *Server) Serve(ctx context.Context, grace time.Duration, ls ...net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(s.stopStreams)
	errc := make(chan error, len(ls))
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if e := srv.Shutdown(sctx); e != nil {
		srv.Close()
	}
	wg.Wait()
	return err
}
