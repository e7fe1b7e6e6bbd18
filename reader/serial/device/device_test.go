package device

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"

	"posagent/reader/serial/frame"
)

// countingCard answers 9000 and counts the APDUs it executed.
type countingCard struct{ n atomic.Int32 }

func (c *countingCard) Transmit(context.Context, []byte) ([]byte, error) {
	c.n.Add(1)
	return []byte{0x90, 0x00}, nil
}

// wire drives a device block by block over a real pty, as a host would.
type wire struct {
	t  *testing.T
	tx func([]byte)
	rx chan frame.Block
}

func startWire(t *testing.T, o Options) (*wire, *Device) {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := makeRaw(tty); err != nil {
		t.Fatal(err)
	}
	d := New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Serve(ctx, master); close(done) }()
	w := &wire{t: t, rx: make(chan frame.Block, 64)}
	w.tx = func(b []byte) {
		if _, err := tty.Write(b); err != nil {
			t.Error(err)
		}
	}
	go func() {
		sc := frame.Scanner{Options: frame.DecodeOptions{NAD: frame.NADDevice, EDC: o.EDC}}
		buf := make([]byte, 512)
		for {
			n, err := tty.Read(buf)
			if err != nil {
				return
			}
			sc.Feed(buf[:n])
			for {
				b, ok, _ := sc.Next()
				if !ok {
					break
				}
				w.rx <- b
			}
		}
	}()
	t.Cleanup(func() { cancel(); master.Close(); tty.Close(); <-done })
	return w, d
}

func (w *wire) send(b frame.Block) {
	w.t.Helper()
	enc, err := frame.Encode(b, frame.LRC)
	if err != nil {
		w.t.Fatal(err)
	}
	w.tx(enc)
}

// recv returns the next block that is not a WTX request.
func (w *wire) recv() frame.Block {
	w.t.Helper()
	for {
		select {
		case b := <-w.rx:
			if b.Kind == frame.KindS && b.S == frame.WTX {
				continue
			}
			return b
		case <-time.After(3 * time.Second):
			w.t.Fatal("no block from the device")
		}
	}
}

func apdu(ns byte) frame.Block {
	return frame.I(frame.NADHost, ns, false, frame.Request{Cmd: frame.CmdAPDU, Data: []byte{0x00, 0xB2, 0x01, 0x0C, 0x00}}.Bytes())
}

func TestDeviceRules(t *testing.T) {
	card := &countingCard{}
	w, _ := startWire(t, Options{NewCard: func() (Card, error) { return card, nil }, BWT: 200 * time.Millisecond})
	// POLL: a card at once.
	w.send(frame.I(frame.NADHost, 0, false, frame.Request{Cmd: frame.CmdPoll, Data: frame.Poll{TimeoutMS: 1000}.Bytes()}.Bytes()))
	if b := w.recv(); b.Kind != frame.KindI || b.NS != 0 {
		t.Fatalf("poll answer %v", b)
	}
	// APDU with N(S) 1, answered with N(S) 1.
	w.send(apdu(1))
	first := w.recv()
	if first.Kind != frame.KindI || first.NS != 1 || card.n.Load() != 1 {
		t.Fatalf("apdu answer %v, %d executed", first, card.n.Load())
	}
	// The same I-block again (our answer "was lost"): the cached answer,
	// the card is not asked twice.
	w.send(apdu(1))
	if b := w.recv(); b.Kind != frame.KindI || b.NS != 1 || string(b.INF) != string(first.INF) || card.n.Load() != 1 {
		t.Fatalf("repeat answer %v, %d executed", b, card.n.Load())
	}
	// R-block asking for N(S) 1 again: the same answer.
	w.send(frame.R(frame.NADHost, 1, frame.REDCError))
	if b := w.recv(); b.Kind != frame.KindI || b.NS != 1 || card.n.Load() != 1 {
		t.Fatalf("R-block answer %v", b)
	}
	// R-block asking for N(S) 0 (the next one: the device never got our
	// command): the device asks for our block again with R(expected N(S)=0).
	w.send(frame.R(frame.NADHost, 0, frame.ROther))
	if b := w.recv(); b.Kind != frame.KindR || b.NR != 0 {
		t.Fatalf("R-block for a command never received: %v", b)
	}
	// A damaged block: R with EDC error and the N(S) expected.
	enc, _ := frame.Encode(apdu(0), frame.LRC)
	enc[len(enc)-1] ^= 0xFF
	w.tx(enc)
	if b := w.recv(); b.Kind != frame.KindR || b.RErr != frame.REDCError || b.NR != 0 {
		t.Fatalf("bad EDC answer %v", b)
	}
	// IFS: acknowledged with the same value.
	w.send(frame.S(frame.NADHost, frame.IFS, false, 32))
	if b := w.recv(); b.Kind != frame.KindS || b.S != frame.IFS || !b.Response || b.INF[0] != 32 {
		t.Fatalf("IFS answer %v", b)
	}
	// RESYNCH: both sides back to 0.
	w.send(frame.S(frame.NADHost, frame.Resynch, false))
	if b := w.recv(); b.Kind != frame.KindS || b.S != frame.Resynch || !b.Response {
		t.Fatalf("resynch answer %v", b)
	}
	w.send(apdu(0))
	if b := w.recv(); b.Kind != frame.KindI || b.NS != 0 || card.n.Load() != 2 {
		t.Fatalf("after resynch %v, %d executed", b, card.n.Load())
	}
}

func TestDeviceAbortAndWTX(t *testing.T) {
	w, _ := startWire(t, Options{BWT: 100 * time.Millisecond}) // no card: POLL waits
	w.send(frame.I(frame.NADHost, 0, false, frame.Request{Cmd: frame.CmdPoll, Data: frame.Poll{TimeoutMS: 10000}.Bytes()}.Bytes()))
	var wtx int
	deadline := time.After(400 * time.Millisecond)
wait:
	for {
		select {
		case b := <-w.rx:
			if b.Kind != frame.KindS || b.S != frame.WTX || b.Response || b.INF[0] == 0 {
				t.Fatalf("while polling: %v", b)
			}
			wtx++
		case <-deadline:
			break wait
		}
	}
	if wtx < 2 {
		t.Fatalf("%d WTX requests in 400 ms with BWT 100 ms", wtx)
	}
	w.send(frame.S(frame.NADHost, frame.Abort, false))
	if b := w.recv(); b.Kind != frame.KindS || b.S != frame.Abort || !b.Response {
		t.Fatalf("abort answer %v", b)
	}
	// No response message follows, and no WTX either.
	select {
	case b := <-w.rx:
		t.Fatalf("after abort: %v", b)
	case <-time.After(250 * time.Millisecond):
	}
}

func TestDeviceChaining(t *testing.T) {
	card := &countingCard{}
	w, _ := startWire(t, Options{NewCard: func() (Card, error) { return card, nil }, IFS: 4})
	w.send(frame.I(frame.NADHost, 0, false, frame.Request{Cmd: frame.CmdInfo}.Bytes()))
	// The INFO answer is longer than 4 bytes: chained, each block
	// acknowledged by us.
	var msg []byte
	next := byte(0)
	for {
		b := w.recv()
		if b.Kind != frame.KindI || b.NS != next || len(b.INF) > 4 {
			t.Fatalf("chain block %v", b)
		}
		msg = append(msg, b.INF...)
		next ^= 1
		if !b.More {
			break
		}
		w.send(frame.R(frame.NADHost, next, frame.ROK))
	}
	r, err := frame.ParseResponse(msg, frame.CmdInfo)
	if err != nil {
		t.Fatal(err)
	}
	if i, err := frame.ParseInfo(r.Data); err != nil || i.Model != "donglesim" {
		t.Fatalf("info %+v %v", i, err)
	}
}
