package acqsim

import (
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"

	"posagent/emv"
	"posagent/emv/arqc"
	"posagent/emv/pan"
	"posagent/emv/tlv"
	"posagent/qr"
	"posagent/uplink"
)

// Config configures a Server. TLS and Journal are required.
type Config struct {
	TLS     *tls.Config // server certificate; ClientAuth should require client certificates
	Journal *Journal
	Rules   *Rules // nil = approve everything
	Header  uplink.Header
	Spec    *iso8583.MessageSpec // nil = uplink.DefaultSpec()
	Fault   Fault                // per-run fault
	Logger  *slog.Logger
}

// Server is the simulated acquirer host.
type Server struct {
	cfg   Config
	codec *uplink.Codec
	log   *slog.Logger

	fault atomic.Pointer[Fault]
	seq   atomic.Int64

	mkMu    sync.Mutex
	mkCache map[mkCacheKey]arqc.Key

	usedCodes sync.Map // sha256 of a wallet payment code -> terminal + transaction that used it

	done   chan struct{} // closed by Close: delayed answers give up
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup

	Stats ServerStats
}

// ServerStats counts what the server did.
type ServerStats struct {
	Conns, Messages, Approved, Declined, Duplicates, ARQCFailed, Faults atomic.Int64
}

// NewServer checks cfg.
func NewServer(cfg Config) (*Server, error) {
	if cfg.TLS == nil {
		return nil, errors.New("acqsim: TLS config required")
	}
	if cfg.Journal == nil {
		return nil, errors.New("acqsim: journal required")
	}
	codec, err := uplink.NewCodec(cfg.Spec)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, codec: codec, log: log, conns: map[net.Conn]struct{}{}, mkCache: map[mkCacheKey]arqc.Key{}, done: make(chan struct{})}
	f := cfg.Fault
	s.fault.Store(&f)
	return s, nil
}

// SetFault changes the per-run fault (tests switch it while running).
func (s *Server) SetFault(f Fault) { s.fault.Store(&f) }

// Listen listens on addr (e.g. "127.0.0.1:0") and serves in the background.
func (s *Server) Listen(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.Serve(ln)
	}()
	return ln.Addr(), nil
}

// Serve accepts connections until ln is closed.
func (s *Server) Serve(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		if s.fault.Load().Kind == FaultDown {
			s.Stats.Faults.Add(1)
			c.Close()
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handle(c)
	}
}

// DropConnections closes every open connection (the listener stays).
func (s *Server) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// Close stops listening, closes connections and waits for handlers.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		close(s.done)
	}
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// sconn is one terminal connection.
type sconn struct {
	nc       net.Conn
	wmu      sync.Mutex
	count    atomic.Int64
	ruleHits sync.Map // rule index -> *atomic.Int64
	wg       sync.WaitGroup
}

func (sc *sconn) write(b []byte) error {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	sc.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := sc.nc.Write(b)
	return err
}

func (s *Server) handle(raw net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, raw)
		s.mu.Unlock()
		raw.Close()
	}()
	s.Stats.Conns.Add(1)
	tc := tls.Server(raw, s.cfg.TLS)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		s.log.Info("acqsim: handshake failed", "remote", raw.RemoteAddr(), "err", err)
		return
	}
	tc.SetDeadline(time.Time{})
	sc := &sconn{nc: tc}
	defer sc.wg.Wait()
	if s.fault.Load().Kind == FaultDropBefore {
		s.Stats.Faults.Add(1)
		return
	}
	var buf []byte
	for {
		frame, err := s.cfg.Header.ReadFrame(tc, buf)
		if err != nil {
			return
		}
		n := sc.count.Add(1)
		m, err := s.codec.Decode(frame)
		if err != nil {
			s.log.Warn("acqsim: malformed request, closing", "err", err)
			return
		}
		s.Stats.Messages.Add(1)
		runFault := *s.fault.Load()
		idx, rule := s.cfg.Rules.match(m)
		f := runFault
		if rule != nil && (rule.Fault != FaultNone || rule.Delay != 0 || rule.CloseAfter != 0) {
			f = Fault{Kind: rule.Fault, Delay: time.Duration(rule.Delay), CloseAfter: rule.CloseAfter}
		}
		if f.Kind == FaultDropBefore {
			s.Stats.Faults.Add(1)
			return
		}
		closeNow := false
		if runFault.CloseAfter > 0 && n >= int64(runFault.CloseAfter) {
			closeNow = true
		}
		if rule != nil && rule.CloseAfter > 0 {
			v, _ := sc.ruleHits.LoadOrStore(idx, new(atomic.Int64))
			if v.(*atomic.Int64).Add(1) >= int64(rule.CloseAfter) {
				closeNow = true
			}
		}
		// Each message is answered on its own goroutine so that a delayed
		// answer does not hold up the others on the connection.
		sc.wg.Add(1)
		go func(m *uplink.Message, rule *Rule, f Fault, closeNow bool) {
			defer sc.wg.Done()
			s.answer(sc, m, rule, f, closeNow)
		}(m, rule, f, closeNow)
		if closeNow {
			sc.wg.Wait()
			return
		}
		buf = frame[:0] // Decode copied what it keeps
	}
}

func (s *Server) answer(sc *sconn, m *uplink.Message, rule *Rule, f Fault, closeAfter bool) {
	resp := s.process(m, rule)
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
			return
		}
	}
	if resp == nil {
		return
	}
	if f.Kind == FaultDropAfter {
		s.Stats.Faults.Add(1)
		sc.nc.Close()
		return
	}
	frame, err := s.frame(resp, f.Kind)
	if err != nil {
		s.log.Error("acqsim: encoding response", "err", err)
		sc.nc.Close()
		return
	}
	if err := sc.write(frame); err != nil {
		return
	}
	if closeAfter || f.Kind == FaultBadLength {
		sc.nc.Close()
	}
}

// frame packs resp and applies a response fault.
func (s *Server) frame(resp *uplink.Message, kind FaultKind) ([]byte, error) {
	if kind == FaultMissingField {
		resp.ResponseCode = ""
		s.Stats.Faults.Add(1)
	}
	b, err := s.codec.Encode(resp)
	if err != nil {
		return nil, err
	}
	switch kind {
	case FaultGarbage:
		s.Stats.Faults.Add(1)
		g := make([]byte, 40)
		rand.Read(g)
		copy(g, "0210") // looks like a response, is not one
		b = g
	case FaultBadBitmap:
		s.Stats.Faults.Add(1)
		// Primary bitmap right after the 4-byte MTI: announce fields that
		// are not there (and a secondary bitmap).
		if len(b) > 12 {
			b = append([]byte(nil), b...)
			for i := 4; i < 12; i++ {
				b[i] = 0xFF
			}
		}
	case FaultTruncated:
		s.Stats.Faults.Add(1)
		if len(b) > 8 {
			b = b[:len(b)-5]
		}
	case FaultBadLength:
		s.Stats.Faults.Add(1)
		out, err := s.cfg.Header.AppendFrame(nil, append(b, make([]byte, 100)...))
		if err != nil {
			return nil, err
		}
		return out[:len(out)-100], nil // header promises 100 more bytes, then close
	}
	return s.cfg.Header.AppendFrame(nil, b)
}

// process decides and journals; it returns the response (nil = none).
func (s *Server) process(m *uplink.Message, rule *Rule) *uplink.Message {
	resp := &uplink.Message{
		MTI: uplink.ResponseMTI(m.MTI), ProcessingCode: m.ProcessingCode, Amount: m.Amount,
		HasAmount: m.HasAmount, Transmission: m.Transmission, STAN: m.STAN,
		LocalTime: m.LocalTime, LocalDate: m.LocalDate, AcquirerID: m.AcquirerID,
		TerminalID: m.TerminalID, MerchantID: m.MerchantID, Currency: m.Currency,
		TransactionID: m.TransactionID, NetworkCode: m.NetworkCode,
	}
	if resp.MTI == "" {
		s.log.Warn("acqsim: not a request, ignored", "msg", m)
		return nil
	}
	if m.STAN == "" || m.TerminalID == "" {
		resp.ResponseCode = uplink.RCFormatError
		return resp
	}
	switch m.MTI {
	case uplink.MTINetwork:
		resp.ResponseCode = uplink.RCApproved
		return resp
	case uplink.MTIAuthRequest, uplink.MTIFinancialRequest:
		if m.QR != "" || m.EntryMode == uplink.EntryQR || m.EntryMode == uplink.EntryQRMerchant {
			if rc, pending := s.checkQR(m); rc != "" {
				resp.ResponseCode = rc
				if !pending {
					s.Stats.Declined.Add(1)
				}
				return resp
			}
		}
		kind := KindFinancial
		switch {
		case m.MTI == uplink.MTIAuthRequest:
			kind = KindAuth
		case m.ProcessingCode == uplink.ProcRefund:
			kind = KindRefund
		}
		return s.authorise(kind, m, rule, resp)
	case uplink.MTIAdvice, uplink.MTIAdviceRepeat:
		return s.journalled(KindAdvice, m, rule, resp)
	case uplink.MTIReversal, uplink.MTIReversalRepeat, uplink.MTIReversalAdvice, uplink.MTIReversalAdvRepeat:
		return s.journalled(KindReversal, m, rule, resp)
	}
	resp.ResponseCode = uplink.RCInvalidTxn
	return resp
}

func (s *Server) newRecord(kind string, m *uplink.Message) Record {
	r := Record{Time: time.Now().UTC(), Kind: kind, MTI: m.MTI, STAN: m.STAN, TerminalID: m.TerminalID,
		Amount: m.Amount, Currency: m.Currency, TransactionID: m.TransactionID}
	if m.QR != "" {
		r.QRFormat = string(qr.Classify(m.QR))
	}
	if !m.PAN.IsZero() {
		r.PAN = m.PAN.String()
	}
	return r
}

func (s *Server) authorise(kind string, m *uplink.Message, rule *Rule, resp *uplink.Message) *uplink.Message {
	if m.TransactionID == "" || !m.HasAmount || m.Currency == "" {
		resp.ResponseCode = uplink.RCFormatError
		return resp
	}
	st, prev, dup := s.cfg.Journal.claim(kind, m.TerminalID, m.TransactionID)
	if dup {
		s.Stats.Duplicates.Add(1)
		rec := s.newRecord(kind, m)
		rec.Duplicate, rec.ResponseCode, rec.AuthCode, rec.RRN = true, prev.ResponseCode, prev.AuthCode, prev.RRN
		if err := s.cfg.Journal.Append(rec); err != nil {
			resp.ResponseCode = uplink.RCSystemError
			return resp
		}
		resp.ResponseCode, resp.AuthCode, resp.RRN = prev.ResponseCode, prev.AuthCode, prev.RRN
		return resp
	}
	rec := s.newRecord(kind, m)
	rc := uplink.RCApproved
	if rule != nil && rule.ResponseCode != "" {
		rc = rule.ResponseCode
	}
	var arpcData []byte
	rec.ARQC = "absent"
	if len(m.ICC) > 0 && (rule == nil || !rule.SkipARQC) {
		ok, sk, ac := s.verifyARQC(m)
		if ok {
			rec.ARQC = "ok"
			k := arqc.ARPC(sk, ac, [2]byte{rc[0], rc[1]})
			arpcData = tlv.Encode(0x91, append(k[:], rc[0], rc[1]))
		} else {
			rec.ARQC = "failed"
			s.Stats.ARQCFailed.Add(1)
			rc = uplink.RCCryptogramFailed
		}
	}
	seq := s.seq.Add(1)
	rec.ResponseCode = rc
	rec.RRN = fmt.Sprintf("%s%06d", time.Now().UTC().Format("060102"), seq%1000000)
	if uplink.IsApproval(rc) {
		rec.AuthCode = fmt.Sprintf("%06d", seq%1000000)
		s.Stats.Approved.Add(1)
	} else {
		s.Stats.Declined.Add(1)
	}
	if err := s.cfg.Journal.Append(rec); err != nil {
		s.cfg.Journal.finish(kind, m.TerminalID, m.TransactionID, st, nil)
		resp.ResponseCode = uplink.RCSystemError
		return resp
	}
	s.cfg.Journal.finish(kind, m.TerminalID, m.TransactionID, st, &rec)
	resp.ResponseCode, resp.AuthCode, resp.RRN, resp.ICC = rc, rec.AuthCode, rec.RRN, arpcData
	return resp
}

// journalled handles advices and reversals: acknowledged once, duplicates
// acknowledged again and marked.
func (s *Server) journalled(kind string, m *uplink.Message, rule *Rule, resp *uplink.Message) *uplink.Message {
	if m.TransactionID == "" || !m.HasAmount {
		resp.ResponseCode = uplink.RCFormatError
		return resp
	}
	st, prev, dup := s.cfg.Journal.claim(kind, m.TerminalID, m.TransactionID)
	rec := s.newRecord(kind, m)
	if dup {
		s.Stats.Duplicates.Add(1)
		rec.Duplicate, rec.ResponseCode = true, prev.ResponseCode
		if err := s.cfg.Journal.Append(rec); err != nil {
			resp.ResponseCode = uplink.RCSystemError
			return resp
		}
		resp.ResponseCode = prev.ResponseCode
		return resp
	}
	rc := uplink.RCApproved
	if rule != nil && rule.ResponseCode != "" {
		rc = rule.ResponseCode
	}
	if kind == KindReversal {
		for _, k := range []string{KindFinancial, KindRefund, KindAuth, KindAdvice} {
			if orig, ok := s.cfg.Journal.lookup(k, m.TerminalID, m.TransactionID); ok {
				rec.ReversesApproved = approvedRC(orig.ResponseCode)
				break
			}
		}
	}
	rec.ResponseCode = rc
	if err := s.cfg.Journal.Append(rec); err != nil {
		s.cfg.Journal.finish(kind, m.TerminalID, m.TransactionID, st, nil)
		resp.ResponseCode = uplink.RCSystemError
		return resp
	}
	s.cfg.Journal.finish(kind, m.TerminalID, m.TransactionID, st, &rec)
	resp.ResponseCode = rc
	return resp
}

// verifyARQC checks the cryptogram in field 55 against the issuer key of
// the card's scheme.
func (s *Server) verifyARQC(m *uplink.Message) (bool, arqc.Key, [8]byte) {
	var ac [8]byte
	list, err := tlv.Parse(m.ICC)
	if err != nil {
		return false, arqc.Key{}, ac
	}
	get := func(tag uint32) []byte { return tlv.Value(list, tlv.Tag(tag)) }
	cryptogram := get(0x9F26)
	atc := get(0x9F36)
	if len(cryptogram) != 8 || len(atc) != 2 {
		return false, arqc.Key{}, ac
	}
	copy(ac[:], cryptogram)
	inputs, err := arqc.Inputs(get)
	if err != nil {
		return false, arqc.Key{}, ac
	}
	cardPAN := m.PAN
	if cardPAN.IsZero() {
		if v := get(0x5A); v != nil {
			if p, err := pan.FromBCD(v); err == nil {
				cardPAN = p
			}
		}
	}
	if cardPAN.IsZero() {
		return false, arqc.Key{}, ac
	}
	psn := byte(0)
	if v := get(0x5F34); len(v) == 1 {
		psn = v[0]
	} else if len(m.PSN) == 3 {
		psn = byte(m.PSN[1]-'0')<<4 | byte(m.PSN[2]-'0')
	}
	sch := scheme(get(0x4F), get(0x84), cardPAN.Digits())
	imk, ok := s.cfg.Rules.issuerKey(sch)
	if !ok {
		return false, arqc.Key{}, ac
	}
	mk := s.iccMasterKey(sch, imk, cardPAN.Digits(), psn)
	sk := arqc.SessionKey(mk, [2]byte{atc[0], atc[1]})
	for _, data := range inputs {
		want := arqc.Compute(sk, data)
		if subtle.ConstantTimeCompare(want[:], ac[:]) == 1 {
			return true, sk, ac
		}
	}
	return false, arqc.Key{}, ac
}

// iccMasterKey derives (and caches, as an issuer HSM keeps per-card keys)
// the ICC master key of a card. The cache is bounded.
func (s *Server) iccMasterKey(scheme string, imk arqc.Key, digits string, psn byte) arqc.Key {
	key := mkCacheKey{scheme: scheme, imk: imk, pan: digits, psn: psn}
	s.mkMu.Lock()
	mk, ok := s.mkCache[key]
	s.mkMu.Unlock()
	if ok {
		return mk
	}
	mk = arqc.DeriveICCMasterKey(imk, digits, psn)
	s.mkMu.Lock()
	if len(s.mkCache) >= 100000 {
		clear(s.mkCache)
	}
	s.mkCache[key] = mk
	s.mkMu.Unlock()
	return mk
}

type mkCacheKey struct {
	scheme string
	imk    arqc.Key
	pan    string
	psn    byte
}

// scheme picks the issuer key set from the AID (4F or 84), else the PAN's
// BIN, by the kernel's rules. Maestro cards use the Mastercard keys.
func scheme(aid4F, aid84 []byte, digits string) string {
	s := ""
	for _, aid := range [][]byte{aid4F, aid84} {
		if s = emv.SchemeByRID(aid); s != "" {
			break
		}
	}
	if s == "" {
		s = pan.Scheme(digits)
	}
	if s == "maestro" {
		return "mastercard"
	}
	return s
}
