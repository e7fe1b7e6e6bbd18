package offline

// A small acquirer over real TLS on 127.0.0.1, and a pipelined client that
// implements Sender against it. The wire format is test-only (2-byte
// length + JSON); the point is real sockets, real connection loss and real
// concurrency between the forwarder and its peer.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

type acqReq struct {
	ID      string `json:"id"`
	Kind    Kind   `json:"kind"`
	Repeat  bool   `json:"repeat"`
	Payload []byte `json:"payload"`
}

type acqResp struct {
	ID   string `json:"id"`
	Code string `json:"code"` // 00 ok, 94 duplicate, 30 format error, 05 decline
}

// acqFault is what the acquirer does with the n-th message it receives.
type acqFault int

const (
	faultNone        acqFault = iota
	faultDropBefore           // close the connection without recording
	faultDropAfter            // record, then close without answering (answer lost)
	faultFormatError          // answer 30
	faultDecline              // record, answer 05
	faultSlow                 // answer after 20 ms
)

type loopAcq struct {
	t       testing.TB
	ln      net.Listener
	cert    *x509.Certificate
	fault   func(n int, r acqReq) acqFault
	mu      sync.Mutex
	n       int
	journal map[string]int // id -> times accepted (recorded)
	codes   map[string]string
	order   []string       // ids in order of first acceptance
	firsts  map[string]int // id -> non-repeat sends received
	dups    int            // duplicate answers given
	wg      sync.WaitGroup
	conns   map[net.Conn]bool
}

func newLoopAcq(t testing.TB, fault func(n int, r acqReq) acqFault) *loopAcq {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "acq.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	a := &loopAcq{t: t, ln: ln, cert: cert, fault: fault, journal: map[string]int{}, codes: map[string]string{}, firsts: map[string]int{}, conns: map[net.Conn]bool{}}
	a.wg.Add(1)
	go a.serve()
	t.Cleanup(a.close)
	return a
}

func (a *loopAcq) close() {
	a.ln.Close()
	a.mu.Lock()
	for c := range a.conns {
		c.Close()
	}
	a.mu.Unlock()
	a.wg.Wait()
}

func (a *loopAcq) serve() {
	defer a.wg.Done()
	for {
		c, err := a.ln.Accept()
		if err != nil {
			return
		}
		a.mu.Lock()
		a.conns[c] = true
		a.mu.Unlock()
		a.wg.Add(1)
		go a.handle(c)
	}
}

func readFrame(r *bufio.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	_, err := io.ReadFull(r, b)
	return b, err
}

func appendFrame(dst, body []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(body)))
	return append(dst, body...)
}

func (a *loopAcq) handle(c net.Conn) {
	defer a.wg.Done()
	defer func() {
		c.Close()
		a.mu.Lock()
		delete(a.conns, c)
		a.mu.Unlock()
	}()
	r := bufio.NewReader(c)
	var wmu sync.Mutex
	for {
		b, err := readFrame(r)
		if err != nil {
			return
		}
		var req acqReq
		if err := json.Unmarshal(b, &req); err != nil {
			return
		}
		a.mu.Lock()
		a.n++
		f := faultNone
		if a.fault != nil {
			f = a.fault(a.n, req)
		}
		if f == faultDropBefore {
			a.mu.Unlock()
			return
		}
		if !req.Repeat {
			a.firsts[req.ID]++
		}
		code := "00"
		switch {
		case f == faultFormatError:
			code = "30"
		case a.journal[req.ID] > 0:
			code = "94" // duplicate; a declined original is declined again
			if a.codes[req.ID] == "05" {
				code = "05"
			}
			a.dups++
		default:
			a.journal[req.ID]++
			a.order = append(a.order, req.ID)
			if f == faultDecline {
				code = "05"
			}
			a.codes[req.ID] = code
		}
		a.mu.Unlock()
		if f == faultDropAfter {
			return
		}
		out := appendFrame(nil, mustJSON(acqResp{ID: req.ID, Code: code}))
		if f == faultSlow {
			go func() {
				time.Sleep(20 * time.Millisecond)
				wmu.Lock()
				c.Write(out)
				wmu.Unlock()
			}()
			continue
		}
		wmu.Lock()
		_, err = c.Write(out)
		wmu.Unlock()
		if err != nil {
			return
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// snapshot returns a copy of the journal.
func (a *loopAcq) snapshot() (journal map[string]int, firsts map[string]int, dups int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	journal, firsts = map[string]int{}, map[string]int{}
	for k, v := range a.journal {
		journal[k] = v
	}
	for k, v := range a.firsts {
		firsts[k] = v
	}
	return journal, firsts, a.dups
}

// tlsSender is a pipelined Sender: many Forward calls share one TLS
// connection; answers are matched by id.
type tlsSender struct {
	addr string
	cfg  *tls.Config

	mu      sync.Mutex
	conn    net.Conn
	w       *bufio.Writer
	pending map[string]chan string
	wmu     sync.Mutex
}

func newTLSSender(a *loopAcq) *tlsSender {
	pool := x509.NewCertPool()
	pool.AddCert(a.cert)
	return &tlsSender{addr: a.ln.Addr().String(), cfg: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}}
}

var errConnLost = errors.New("acquirer connection lost")

func (s *tlsSender) connect() (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		return s.conn, nil
	}
	d := &net.Dialer{Timeout: 2 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", s.addr, s.cfg)
	if err != nil {
		return nil, err
	}
	s.conn, s.w, s.pending = c, bufio.NewWriter(c), map[string]chan string{}
	go s.readLoop(c, s.pending)
	return c, nil
}

func (s *tlsSender) readLoop(c net.Conn, pending map[string]chan string) {
	r := bufio.NewReader(c)
	for {
		b, err := readFrame(r)
		var resp acqResp
		if err == nil {
			err = json.Unmarshal(b, &resp)
		}
		s.mu.Lock()
		if err != nil {
			c.Close()
			if s.conn == c {
				s.conn = nil
			}
			for id, ch := range pending {
				close(ch)
				delete(pending, id)
			}
			s.mu.Unlock()
			return
		}
		if ch, ok := pending[resp.ID]; ok {
			ch <- resp.Code
			delete(pending, resp.ID)
		}
		s.mu.Unlock()
	}
}

func (s *tlsSender) Forward(ctx context.Context, e Entry) error {
	c, err := s.connect()
	if err != nil {
		return fmt.Errorf("dial acquirer: %w", err)
	}
	ch := make(chan string, 1)
	s.mu.Lock()
	if s.conn != c {
		s.mu.Unlock()
		return errConnLost
	}
	s.pending[e.ID] = ch
	w := s.w
	s.mu.Unlock()
	frame := appendFrame(nil, mustJSON(acqReq{ID: e.ID, Kind: e.Kind, Repeat: e.Repeat, Payload: e.Payload}))
	s.wmu.Lock()
	_, err = w.Write(frame)
	if err == nil {
		err = w.Flush()
	}
	s.wmu.Unlock()
	if err != nil {
		c.Close()
		return fmt.Errorf("send: %w", err)
	}
	select {
	case code, ok := <-ch:
		if !ok {
			return errConnLost
		}
		switch code {
		case "00", "94":
			return nil
		case "30":
			return fmt.Errorf("%w: response code 30 (format error)", ErrRejected)
		case "05":
			return fmt.Errorf("%w: response code 05", ErrDeclined)
		}
		return fmt.Errorf("response code %s", code)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *tlsSender) Close() {
	s.mu.Lock()
	if s.conn != nil {
		s.conn.Close()
	}
	s.mu.Unlock()
}
