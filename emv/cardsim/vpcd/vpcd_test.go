package vpcd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"
)

// testCard answers every APDU with its first byte followed by 90 00.
type testCard struct {
	mu     sync.Mutex
	resets int
	seen   int
	fail   error
	empty  bool
}

func (c *testCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen++
	if c.fail != nil {
		return nil, c.fail
	}
	if c.empty {
		return nil, nil
	}
	return []byte{apdu[0], 0x90, 0x00}, nil
}

func (c *testCard) Reset() { c.mu.Lock(); c.resets++; c.mu.Unlock() }

func (c *testCard) ATR() []byte { return []byte{0x3B, 0x80, 0x80, 0x01, 0x01} }

func frame(p ...byte) []byte {
	b, err := AppendFrame(nil, p)
	if err != nil {
		panic(err)
	}
	return b
}

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    []byte
		wantErr error
	}{
		{"control", frame(0x04), []byte{0x04}, nil},
		{"apdu", frame(0x00, 0xA4, 0x04, 0x00), []byte{0x00, 0xA4, 0x04, 0x00}, nil},
		{"clean end", nil, nil, io.EOF},
		{"half length", []byte{0x00}, nil, io.ErrUnexpectedEOF},
		{"zero length", []byte{0x00, 0x00}, nil, ErrEmptyFrame},
		{"cut payload", []byte{0x00, 0x05, 0x01, 0x02}, nil, io.ErrUnexpectedEOF},
		{"length only", []byte{0xFF, 0xFF}, nil, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadFrame(bytes.NewReader(tc.in), nil)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil && tc.wantErr != io.EOF {
				var fe *FrameError
				if !errors.As(err, &fe) {
					t.Errorf("err %T is not *FrameError", err)
				}
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("payload = % X, want % X", got, tc.want)
			}
		})
	}
}

func TestAppendFrame(t *testing.T) {
	if _, err := AppendFrame(nil, make([]byte, MaxPayload+1)); !errors.Is(err, ErrPayloadTooLong) {
		t.Errorf("oversized payload: err = %v", err)
	}
	got, err := AppendFrame([]byte{0xAA}, []byte{1, 2, 3})
	if err != nil || !bytes.Equal(got, []byte{0xAA, 0x00, 0x03, 1, 2, 3}) {
		t.Errorf("AppendFrame = % X, %v", got, err)
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Kind
		wantErr error
	}{
		{"power off", []byte{0x00}, KindPowerOff, nil},
		{"power on", []byte{0x01}, KindPowerOn, nil},
		{"reset", []byte{0x02}, KindReset, nil},
		{"get atr", []byte{0x04}, KindGetATR, nil},
		{"unknown control", []byte{0x03}, 0, ErrUnknownControl},
		{"empty", nil, 0, ErrEmptyFrame},
		{"two-byte apdu", []byte{0x00, 0xA4}, KindAPDU, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.in)
			if !errors.Is(err, tc.wantErr) || m.Kind != tc.want {
				t.Errorf("Decode(% X) = %v, %v; want %v, %v", tc.in, m.Kind, err, tc.want, tc.wantErr)
			}
		})
	}
}

// driver is the reader side of vpcd on a loopback listener.
type driver struct {
	ln   net.Listener
	conn net.Conn
}

func newDriver(t *testing.T) *driver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &driver{ln: ln}
}

func (d *driver) accept(t *testing.T) {
	t.Helper()
	d.ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	c, err := d.ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	d.conn = c
	t.Cleanup(func() { c.Close() })
}

func (d *driver) send(t *testing.T, p ...byte) {
	t.Helper()
	if _, err := d.conn.Write(frame(p...)); err != nil {
		t.Fatal(err)
	}
}

func (d *driver) recv(t *testing.T) []byte {
	t.Helper()
	p, err := ReadFrame(d.conn, nil)
	if err != nil {
		t.Fatalf("driver read: %v", err)
	}
	return p
}

type result struct {
	st  Stats
	err error
}

func attach(t *testing.T, ctx context.Context, d *driver, card Card, opts Options) <-chan result {
	t.Helper()
	done := make(chan result, 1)
	go func() {
		st, err := Attach(ctx, d.ln.Addr().String(), card, opts)
		done <- result{st, err}
	}()
	d.accept(t)
	return done
}

func wait(t *testing.T, done <-chan result) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("Attach did not return")
	}
	return result{}
}

func TestAttachSession(t *testing.T) {
	d := newDriver(t)
	card := &testCard{}
	attached := false
	done := attach(t, context.Background(), d, card, Options{OnAttach: func() { attached = true }, Logger: slog.New(slog.DiscardHandler)})
	d.send(t, CtrlGetATR)
	if got := d.recv(t); !bytes.Equal(got, card.ATR()) {
		t.Errorf("ATR = % X", got)
	}
	d.send(t, CtrlPowerOn)
	d.send(t, 0x80, 0xA8, 0x00, 0x00)
	if got := d.recv(t); !bytes.Equal(got, []byte{0x80, 0x90, 0x00}) {
		t.Errorf("response = % X", got)
	}
	d.send(t, CtrlPowerOff)
	d.send(t, CtrlReset)
	d.send(t, 0x00, 0xB2, 0x01, 0x0C)
	if got := d.recv(t); got[0] != 0x00 {
		t.Errorf("response = % X", got)
	}
	d.conn.Close()
	r := wait(t, done)
	if !errors.Is(r.err, ErrReaderClosed) {
		t.Errorf("err = %v, want ErrReaderClosed", r.err)
	}
	if r.st.APDUs != 2 || r.st.PowerOns != 2 || card.resets != 2 || r.st.Removed || !attached {
		t.Errorf("stats %+v, resets %d, attached %v", r.st, card.resets, attached)
	}
}

func TestAttachEnds(t *testing.T) {
	cardErr := errors.New("card melted")
	// The driver's Accept can return before the card's dial does: the
	// context case cancels only once the card is attached.
	attached := make(chan struct{})
	tests := []struct {
		name    string
		card    *testCard
		opts    Options
		script  func(t *testing.T, d *driver, cancel context.CancelFunc)
		wantErr error
		removed bool
		apdus   int
	}{
		{"context ends: card removed", &testCard{}, Options{OnAttach: func() { close(attached) }}, func(t *testing.T, d *driver, cancel context.CancelFunc) {
			<-attached
			cancel()
			if _, err := ReadFrame(d.conn, nil); err != io.EOF {
				t.Errorf("driver read after removal: %v, want EOF", err)
			}
		}, nil, true, 0},
		{"remove after 1 APDU", &testCard{}, Options{RemoveAfterAPDUs: 1}, func(t *testing.T, d *driver, _ context.CancelFunc) {
			d.send(t, 0x00, 0xA4, 0x04, 0x00)
			d.recv(t)
			d.send(t, 0x00, 0xA4, 0x04, 0x00)
			if _, err := ReadFrame(d.conn, nil); err != io.EOF {
				t.Errorf("second APDU answered: %v", err)
			}
		}, nil, true, 1},
		{"unknown control", &testCard{}, Options{}, func(t *testing.T, d *driver, _ context.CancelFunc) {
			d.send(t, 0x07)
		}, ErrUnknownControl, false, 0},
		{"empty frame", &testCard{}, Options{}, func(t *testing.T, d *driver, _ context.CancelFunc) {
			d.conn.Write([]byte{0, 0})
		}, ErrEmptyFrame, false, 0},
		{"cut frame", &testCard{}, Options{}, func(t *testing.T, d *driver, _ context.CancelFunc) {
			d.conn.Write([]byte{0, 9, 1})
			d.conn.Close()
		}, ErrReaderClosed, false, 0},
		{"card fails", &testCard{fail: cardErr}, Options{}, func(t *testing.T, d *driver, _ context.CancelFunc) {
			d.send(t, 0x00, 0xA4, 0x04, 0x00)
		}, cardErr, false, 0},
		{"card answers nothing", &testCard{empty: true}, Options{}, func(t *testing.T, d *driver, _ context.CancelFunc) {
			d.send(t, 0x00, 0xA4, 0x04, 0x00)
		}, ErrEmptyResponse, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := attach(t, ctx, d, tc.card, tc.opts)
			tc.script(t, d, cancel)
			r := wait(t, done)
			if tc.wantErr == nil && r.err != nil || !errors.Is(r.err, tc.wantErr) {
				t.Errorf("err = %v, want %v", r.err, tc.wantErr)
			}
			if r.st.Removed != tc.removed || r.st.APDUs != tc.apdus {
				t.Errorf("stats = %+v", r.st)
			}
		})
	}
}

func TestAttachDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Attach(context.Background(), addr, &testCard{}, Options{})
	var de *DialError
	if !errors.As(err, &de) || de.Addr != addr {
		t.Fatalf("err = %v, want *DialError", err)
	}
}

// rw is a driver stream in memory for the fuzzer.
type rw struct {
	io.Reader
	out bytes.Buffer
}

func (r *rw) Write(p []byte) (int, error) { return r.out.Write(p) }

func FuzzServe(f *testing.F) {
	f.Add(append(append(frame(CtrlGetATR), frame(CtrlPowerOn)...), frame(0x00, 0xA4, 0x04, 0x00, 0x00)...))
	f.Add([]byte{0x00, 0x01, 0x09})
	f.Add([]byte{0x00, 0x00})
	f.Add([]byte{0xFF, 0xFF, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		card := &testCard{}
		conn := &rw{Reader: bytes.NewReader(in)}
		st, err := serve(context.Background(), conn, func() {}, card, Options{RemoveAfterAPDUs: 3}, slog.New(slog.DiscardHandler))
		if err == nil && !st.Removed {
			t.Fatalf("serve ended without error or removal")
		}
		var fe *FrameError
		if err != nil && !errors.Is(err, ErrReaderClosed) && !errors.As(err, &fe) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		// Every reply is a well-formed frame.
		out := bytes.NewReader(conn.out.Bytes())
		replies := 0
		for {
			p, err := ReadFrame(out, nil)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("reply stream corrupt: %v", err)
			}
			if len(p) == 0 {
				t.Fatal("empty reply")
			}
			replies++
		}
		if replies < st.APDUs {
			t.Fatalf("%d replies for %d APDUs", replies, st.APDUs)
		}
	})
}
