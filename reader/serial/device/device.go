package device

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"posagent/reader/serial/frame"
)

// Card is what the device needs of the card it hosts.
type Card interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// Options configure a Device.
type Options struct {
	Model, Firmware, Serial string
	EDC                     frame.EDC
	IFS                     int           // largest INF the device sends and takes; 0: 254
	BWT                     time.Duration // the host's block waiting time: WTX comes before it ends; 0: 1 s
	// NewCard gives the card of each tap (POLL). nil: no card ever comes.
	NewCard  func() (Card, error)
	UID, ATS []byte        // of every card; nil UID: 04 A1 B2 C3 D4 E5 F6
	TapAfter time.Duration // a card appears this long after a POLL starts
	// Battery is the starting charge in percent (0: 100); every tap drains
	// BatteryPerTap. At or below LowAt (default 15) INFO says low; at or
	// below CriticalAt (default 5) POLL answers "battery too low".
	Battery, BatteryPerTap, LowAt, CriticalAt int
	Faults                                    Faults
	Logger                                    *slog.Logger // nil: discard; never logs APDU bytes
}

// Faults are injected deterministically: "every Nth" counts across the
// device's life, so a test knows which block is hit.
type Faults struct {
	FlipEvery    int // flip one bit in every Nth block sent
	DropEvery    int // drop one byte of every Nth block sent
	LoseEvery    int // do not send every Nth block at all
	IgnoreEvery  int // ignore every Nth valid block received (lost on the way in)
	Garbage      int // write this many noise bytes before every Nth (GarbageEvery) block
	GarbageEvery int
	Delay        time.Duration // wait before answering every command
	// DropLinkAtAPDU ends Serve with ErrLinkDropped when the Nth APDU (since
	// the device started) arrives, before answering it.
	DropLinkAtAPDU int
}

// ErrLinkDropped is returned by Serve when Faults.DropLinkAtAPDU fires.
var ErrLinkDropped = errors.New("device: link dropped (fault injection)")

// Device is one software dongle. Serve may be called again after it returns
// (a new link); the battery and fault counters carry over.
type Device struct {
	o       Options
	log     *slog.Logger
	battery atomic.Int64
	apdus   atomic.Int64
	sent    atomic.Int64
	recv    atomic.Int64
	taps    atomic.Int64

	mu     sync.Mutex
	lastUI frame.UI
	uis    int
}

// New returns a device.
func New(o Options) *Device {
	if o.IFS <= 0 || o.IFS > frame.MaxIFS {
		o.IFS = frame.MaxIFS
	}
	if o.BWT <= 0 {
		o.BWT = time.Second
	}
	if o.UID == nil {
		o.UID = []byte{0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6}
	}
	if o.ATS == nil {
		o.ATS = []byte{0x05, 0x78, 0x80, 0x70, 0x02}
	}
	if o.Model == "" {
		o.Model = "donglesim"
	}
	if o.LowAt == 0 {
		o.LowAt = 15
	}
	if o.CriticalAt == 0 {
		o.CriticalAt = 5
	}
	d := &Device{o: o, log: o.Logger}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	b := o.Battery
	if b <= 0 {
		b = 100
	}
	d.battery.Store(int64(b))
	return d
}

// Battery is the charge in percent.
func (d *Device) Battery() int { return int(d.battery.Load()) }

// SetBattery sets the charge (a battery running low, a charger plugged in).
func (d *Device) SetBattery(p int) { d.battery.Store(int64(min(max(p, 0), 100))) }

// APDUs is the number of APDUs received.
func (d *Device) APDUs() int { return int(d.apdus.Load()) }

// Taps is the number of cards presented.
func (d *Device) Taps() int { return int(d.taps.Load()) }

// LastUI is the last UI request and how many came.
func (d *Device) LastUI() (frame.UI, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lastUI, d.uis
}

func (d *Device) info() frame.Info {
	b := d.Battery()
	return frame.Info{Model: d.o.Model, Firmware: d.o.Firmware, Serial: d.o.Serial, Battery: b, BatteryLow: b <= d.o.LowAt, MaxAPDU: 261}
}

// session is the state of one link. Blocks are handled on the goroutine
// that reads them (no hand-over on the way to the card); mu guards the
// session against the WTX ticker and a POLL running in the background.
type session struct {
	d   *Device
	w   io.Writer
	ctx context.Context

	mu                sync.Mutex
	expectHost, devNS byte
	rx                []byte
	tx                [][]byte // chunks of the response being sent
	lastSent          []byte   // encoded, for retransmission
	lastI             *frame.Block
	hostIFS           int
	busy              context.CancelFunc // a command is running
	seq               int                // of the command running or last run
	dropped           bool               // Faults.DropLinkAtAPDU fired

	cardMu sync.Mutex // an aborted POLL may still be running
	card   Card       // the card in the field, nil when none
}

func (s *session) setCard(c Card) {
	s.cardMu.Lock()
	s.card = c
	s.cardMu.Unlock()
}

func (s *session) getCard() Card {
	s.cardMu.Lock()
	defer s.cardMu.Unlock()
	return s.card
}

// Serve runs the device on rw until ctx ends, rw fails (returns the read
// error) or a link-drop fault fires (ErrLinkDropped). The caller closes rw
// to stop the reading goroutine after ctx ends.
func (d *Device) Serve(ctx context.Context, rw io.ReadWriter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &session{d: d, w: rw, ctx: ctx, hostIFS: d.o.IFS}
	defer func() {
		s.mu.Lock()
		s.stop()
		s.mu.Unlock()
	}()
	errc := make(chan error, 1)
	go func() {
		sc := frame.Scanner{Options: frame.DecodeOptions{NAD: frame.NADHost, EDC: d.o.EDC, IFS: d.o.IFS}}
		buf := make([]byte, 1024)
		for {
			n, err := rw.Read(buf)
			if err != nil {
				errc <- err
				return
			}
			sc.Feed(buf[:n])
			s.mu.Lock()
			for ctx.Err() == nil && !s.dropped {
				b, ok, err := sc.Next()
				if err != nil {
					s.send(frame.R(frame.NADDevice, s.expectHost, frame.REDCError))
					continue
				}
				if !ok {
					break
				}
				if n := d.o.Faults.IgnoreEvery; n > 0 && d.recv.Add(1)%int64(n) == 0 {
					d.log.Debug("fault: block lost on the way in", "block", b.String())
					continue
				}
				s.handle(b)
			}
			dropped := s.dropped
			s.mu.Unlock()
			if dropped {
				errc <- ErrLinkDropped
				return
			}
		}
	}()
	go func() {
		// Three BWT of grace, sent every half BWT: one lost WTX does not
		// make the host give up.
		t := time.NewTicker(d.o.BWT / 2)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.mu.Lock()
				if s.busy != nil {
					s.send(frame.S(frame.NADDevice, frame.WTX, false, 3))
				}
				s.mu.Unlock()
			}
		}
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-errc:
		return err
	}
}

// respond sends a command's response message (chained as needed).
func (s *session) respond(resp []byte) {
	s.tx = frame.Split(resp, s.hostIFS)
	s.sendChunk()
}

func (s *session) stop() {
	if s.busy != nil {
		s.busy()
		s.busy = nil
	}
}

// send encodes b and writes it through the fault injector.
func (s *session) send(b frame.Block) {
	enc, err := frame.Encode(b, s.d.o.EDC)
	if err != nil {
		s.d.log.Error("encoding a block", "err", err)
		return
	}
	if b.Kind != frame.KindS || b.S != frame.WTX {
		s.lastSent = enc
	}
	s.write(enc)
}

func (s *session) write(enc []byte) {
	f := s.d.o.Faults
	n := s.d.sent.Add(1)
	out := enc
	if f != (Faults{}) {
		out = append([]byte(nil), enc...) // enc may be the retransmission cache
	}
	hit := func(every int) bool { return every > 0 && n%int64(every) == 0 }
	switch {
	case hit(f.LoseEvery):
		s.d.log.Debug("fault: block lost", "n", n)
		return
	case hit(f.FlipEvery):
		i := int(n) % len(out)
		out[i] ^= 1 << (n % 8)
		s.d.log.Debug("fault: bit flipped", "n", n, "byte", i)
	case hit(f.DropEvery):
		i := int(n) % len(out)
		out = append(out[:i], out[i+1:]...)
		s.d.log.Debug("fault: byte dropped", "n", n, "byte", i)
	}
	if hit(f.GarbageEvery) && f.Garbage > 0 {
		noise := make([]byte, f.Garbage)
		for i := range noise {
			noise[i] = byte(n*31 + int64(i)*17)
		}
		out = append(noise, out...)
	}
	if _, err := s.w.Write(out); err != nil {
		s.d.log.Debug("write failed", "err", err)
	}
}

func (s *session) sendChunk() {
	chunk := s.tx[0]
	s.tx = s.tx[1:]
	b := frame.I(frame.NADDevice, s.devNS, len(s.tx) > 0, chunk)
	s.devNS ^= 1
	s.lastI = &b
	s.send(b)
}

func (s *session) resend() {
	if s.lastSent != nil {
		s.write(s.lastSent)
	}
}

func (s *session) handle(b frame.Block) {
	switch b.Kind {
	case frame.KindI:
		if s.busy != nil || len(s.tx) > 0 {
			return // not the host's turn
		}
		if b.NS != s.expectHost {
			// A block we already took: our answer to it was lost.
			s.resend()
			return
		}
		s.expectHost ^= 1
		s.rx = append(s.rx, b.INF...)
		if len(s.rx) > frame.MaxMessage {
			s.rx = nil
			s.send(frame.R(frame.NADDevice, s.expectHost, frame.ROther))
			return
		}
		if b.More {
			s.send(frame.R(frame.NADDevice, s.expectHost, frame.ROK))
			return
		}
		msg := s.rx
		s.rx = nil
		s.start(msg)
	case frame.KindR:
		switch {
		case s.busy != nil:
			s.send(frame.S(frame.NADDevice, frame.WTX, false, 3))
		case s.lastI != nil && b.NR == s.lastI.NS:
			s.send(*s.lastI)
		case len(s.tx) > 0 && b.NR == s.devNS:
			s.sendChunk()
		default:
			s.send(frame.R(frame.NADDevice, s.expectHost, frame.ROther))
		}
	case frame.KindS:
		if b.Response {
			return
		}
		switch b.S {
		case frame.Resynch:
			s.stop()
			s.expectHost, s.devNS, s.rx, s.tx, s.lastSent, s.lastI = 0, 0, nil, nil, nil, nil
			s.send(frame.S(frame.NADDevice, frame.Resynch, true))
		case frame.Abort:
			s.stop()
			s.tx, s.rx = nil, nil
			s.send(frame.S(frame.NADDevice, frame.Abort, true))
		case frame.IFS:
			s.hostIFS = int(b.INF[0])
			s.send(frame.S(frame.NADDevice, frame.IFS, true, b.INF[0]))
		}
	}
}

// start runs a command (s.mu held). POLL runs in the background, so that
// the device answers ABORT and RESYNCH while it waits for a card; the
// others run on the reading goroutine with s.mu released (the WTX ticker
// keeps the host waiting if the card is slow).
func (s *session) start(msg []byte) {
	s.seq++
	seq := s.seq
	finish := func(resp []byte, drop bool) {
		if s.seq != seq || s.busy == nil {
			return // aborted meanwhile
		}
		s.busy()
		s.busy = nil
		if drop {
			s.dropped = true
			return
		}
		s.respond(resp)
	}
	if len(msg) > 0 && frame.Cmd(msg[0]) == frame.CmdPoll {
		ctx, cancel := context.WithCancel(s.ctx)
		s.busy = cancel
		go func() {
			resp, drop := s.run(ctx, msg)
			s.mu.Lock()
			defer s.mu.Unlock()
			finish(resp, drop)
		}()
		return
	}
	// Nothing can abort a command run on the reading goroutine: the
	// session's context is enough.
	s.busy = func() {}
	s.mu.Unlock()
	resp, drop := s.run(s.ctx, msg)
	s.mu.Lock()
	finish(resp, drop)
}

// run executes one command.
func (s *session) run(ctx context.Context, msg []byte) ([]byte, bool) {
	d := s.d
	req, err := frame.ParseRequest(msg)
	if err != nil {
		return frame.Response{Cmd: req.Cmd, Status: frame.StatusBadParam}.Bytes(), false
	}
	answer := func(st frame.Status, data []byte) []byte {
		return frame.Response{Cmd: req.Cmd, Status: st, Data: data}.Bytes()
	}
	if req.Cmd == frame.CmdAPDU {
		if n := d.o.Faults.DropLinkAtAPDU; n > 0 && d.apdus.Add(1) == int64(n) {
			return nil, true
		} else if n <= 0 {
			d.apdus.Add(1)
		}
	}
	if !sleep(ctx, d.o.Faults.Delay) {
		return answer(frame.StatusAborted, nil), false
	}
	switch req.Cmd {
	case frame.CmdInfo:
		return answer(frame.StatusOK, d.info().Bytes()), false
	case frame.CmdPoll:
		p, err := frame.ParsePoll(req.Data)
		if err != nil {
			return answer(frame.StatusBadParam, nil), false
		}
		return s.poll(ctx, p, answer), false
	case frame.CmdAPDU:
		card := s.getCard()
		if card == nil {
			return answer(frame.StatusNoSession, nil), false
		}
		r, err := card.Transmit(ctx, req.Data)
		if err != nil {
			s.setCard(nil)
			return answer(frame.StatusCardLost, nil), false
		}
		return answer(frame.StatusOK, r), false
	case frame.CmdRelease:
		s.setCard(nil)
		return answer(frame.StatusOK, nil), false
	case frame.CmdUI:
		u, err := frame.ParseUI(req.Data)
		if err != nil {
			return answer(frame.StatusBadParam, nil), false
		}
		d.mu.Lock()
		d.lastUI, d.uis = u, d.uis+1
		d.mu.Unlock()
		return answer(frame.StatusOK, nil), false
	}
	return answer(frame.StatusUnknownCmd, nil), false
}

func (s *session) poll(ctx context.Context, p frame.Poll, answer func(frame.Status, []byte) []byte) []byte {
	d := s.d
	if d.Battery() <= d.o.CriticalAt {
		return answer(frame.StatusBatteryLow, nil)
	}
	wait := time.Duration(p.TimeoutMS) * time.Millisecond
	if wait == 0 {
		wait = 30 * time.Second
	}
	s.setCard(nil)
	if d.o.NewCard == nil || d.o.TapAfter >= wait {
		if !sleep(ctx, wait) {
			return answer(frame.StatusAborted, nil)
		}
		return answer(frame.StatusNoCard, nil)
	}
	if !sleep(ctx, d.o.TapAfter) {
		return answer(frame.StatusAborted, nil)
	}
	c, err := d.o.NewCard()
	if err != nil {
		return answer(frame.StatusCardError, nil)
	}
	s.setCard(c)
	d.taps.Add(1)
	d.battery.Store(max(d.battery.Load()-int64(d.o.BatteryPerTap), 0))
	return answer(frame.StatusOK, frame.CardInfo{Type: frame.CardTypeA, UID: d.o.UID, ATS: d.o.ATS}.Bytes())
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
