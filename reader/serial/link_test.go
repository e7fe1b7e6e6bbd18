package serial

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"posagent/reader/serial/frame"
)

// scriptPort is an in-memory Port for unit tests of the link logic: every
// block the host writes goes to answer, whose blocks the host then reads.
type scriptPort struct {
	mu     sync.Mutex
	in     []byte
	sent   []frame.Block
	answer func(frame.Block) []frame.Block
	wake   chan struct{}
}

func newScriptPort(answer func(frame.Block) []frame.Block) *scriptPort {
	return &scriptPort{answer: answer, wake: make(chan struct{}, 1)}
}

func (p *scriptPort) Write(b []byte) (int, error) {
	blk, _, err := frame.Decode(b, frame.DecodeOptions{NAD: frame.NADHost, EDC: frame.LRC})
	if err != nil {
		panic(err)
	}
	blk.INF = append([]byte(nil), blk.INF...)
	p.mu.Lock()
	p.sent = append(p.sent, blk)
	for _, r := range p.answer(blk) {
		enc, err := frame.Encode(r, frame.LRC)
		if err != nil {
			panic(err)
		}
		p.in = append(p.in, enc...)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return len(b), nil
}

func (p *scriptPort) Read(b []byte) (int, error) {
	for i := 0; i < 2; i++ {
		p.mu.Lock()
		if len(p.in) > 0 {
			n := copy(b, p.in)
			p.in = p.in[n:]
			p.mu.Unlock()
			return n, nil
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-time.After(5 * time.Millisecond):
		}
	}
	return 0, nil
}

func (p *scriptPort) SetReadTimeout(time.Duration) error { return nil }
func (p *scriptPort) Close() error                       { return nil }

func testLink(p Port) *link {
	return newLink(p, linkConfig{edc: frame.LRC, ifs: 254, bwt: 50 * time.Millisecond, cwt: 10 * time.Millisecond, retries: 3}, &Stats{}, nil)
}

// TestLinkDeviceIFS: the device asks for smaller blocks with S(IFS); the
// host acknowledges and chains its next message at that size.
func TestLinkDeviceIFS(t *testing.T) {
	devNS := byte(0)
	var chunks []int
	p := newScriptPort(func(b frame.Block) []frame.Block {
		switch {
		case b.Kind == frame.KindI && b.More:
			chunks = append(chunks, len(b.INF))
			return []frame.Block{frame.R(frame.NADDevice, b.NS^1, frame.ROK)}
		case b.Kind == frame.KindI:
			chunks = append(chunks, len(b.INF))
			out := []frame.Block{}
			if len(chunks) == 1 { // the first command: ask for IFS 8 first
				out = append(out, frame.S(frame.NADDevice, frame.IFS, false, 8))
			}
			out = append(out, frame.I(frame.NADDevice, devNS, false, []byte{0x81, 0x00}))
			devNS ^= 1
			return out
		}
		return nil
	})
	l := testLink(p)
	ctx := context.Background()
	if _, err := l.transact(ctx, []byte{0x01}, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if l.cfg.ifs != 8 {
		t.Fatalf("ifs %d", l.cfg.ifs)
	}
	var ifsAck bool
	for _, b := range p.sent {
		if b.Kind == frame.KindS && b.S == frame.IFS && b.Response && b.INF[0] == 8 {
			ifsAck = true
		}
	}
	if !ifsAck {
		t.Fatalf("no S(IFS response): %v", p.sent)
	}
	chunks = chunks[:0]
	if _, err := l.transact(ctx, make([]byte, 20), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 3 || chunks[0] != 8 || chunks[2] != 4 {
		t.Fatalf("chunks %v, want 8 8 4", chunks)
	}
}

// TestLinkRetransmitOnRequest: the device answers our command with
// R(N(R) = our N(S)) (it did not get it): the host sends the same block
// again; the device's duplicate of an accepted block is acknowledged, not
// taken twice.
func TestLinkRetransmitOnRequest(t *testing.T) {
	n := 0
	p := newScriptPort(func(b frame.Block) []frame.Block {
		if b.Kind != frame.KindI {
			return nil
		}
		n++
		if n == 1 {
			return []frame.Block{frame.R(frame.NADDevice, b.NS, frame.ROther)}
		}
		resp := frame.I(frame.NADDevice, 0, false, []byte{0x83, 0x00, 0x90, 0x00})
		return []frame.Block{resp}
	})
	l := testLink(p)
	got, err := l.transact(context.Background(), []byte{0x03, 0x00, 0xA4, 0x04, 0x00}, time.Now().Add(time.Second))
	if err != nil || len(got) != 4 || n != 2 || l.stats.Retransmits.Load() != 1 {
		t.Fatalf("got % X, %v; %d I-blocks sent, %d retransmits", got, err, n, l.stats.Retransmits.Load())
	}
	if p.sent[0].NS != p.sent[1].NS || string(p.sent[0].INF) != string(p.sent[1].INF) {
		t.Fatalf("retransmission differs: %v %v", p.sent[0], p.sent[1])
	}
}

// TestLinkGivesUp: a device that answers nothing: ErrNoResponse after the
// retries, within the deadline.
func TestLinkGivesUp(t *testing.T) {
	p := newScriptPort(func(frame.Block) []frame.Block { return nil })
	l := testLink(p)
	t0 := time.Now()
	_, err := l.transact(context.Background(), []byte{0x01}, time.Now().Add(time.Second))
	if err != ErrNoResponse || time.Since(t0) > time.Second || !l.dirty {
		t.Fatalf("err %v after %v, dirty %v", err, time.Since(t0), l.dirty)
	}
	var rblocks int
	for _, b := range p.sent {
		if b.Kind == frame.KindR {
			rblocks++
		}
	}
	if rblocks != 3 {
		t.Fatalf("%d R-blocks sent, want 3 (retries)", rblocks)
	}
}

// TestReconnectBackoff: while the device path is missing, opening is
// retried with a doubling delay bounded by the profile, until ctx ends.
func TestReconnectBackoff(t *testing.T) {
	var times []time.Time
	d, err := New(Options{Path: "/dev/rfcomm-missing", openPort: func(string, int) (Port, error) {
		times = append(times, time.Now())
		return nil, errors.New("no such file or directory")
	}})
	if err != nil {
		t.Fatal(err)
	}
	p := *d.prof
	p.ReconnectMin, p.ReconnectMax = 10*time.Millisecond, 80*time.Millisecond
	d.prof = &p
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	_, err = d.WaitCard(ctx)
	var le *LinkError
	if !errors.As(err, &le) || !errors.Is(err, ErrCancelled) {
		t.Fatalf("WaitCard: %v", err)
	}
	if len(times) < 4 || len(times) > 14 {
		t.Fatalf("%d attempts in 400 ms", len(times))
	}
	for i := 2; i < len(times); i++ {
		gap := times[i].Sub(times[i-1])
		if gap > 80*time.Millisecond+150*time.Millisecond {
			t.Fatalf("gap %d = %v beyond the maximum backoff", i, gap)
		}
	}
	if g1, g3 := times[1].Sub(times[0]), times[3].Sub(times[2]); g3 < g1 {
		t.Fatalf("backoff does not grow: %v then %v", g1, g3)
	}
}

// TestLinkEndlessChain: a hostile device chains forever; the host stops at
// frame.MaxMessage with ErrProtocol instead of growing without bound.
func TestLinkEndlessChain(t *testing.T) {
	ns := byte(0)
	chunk := make([]byte, frame.MaxIFS)
	p := newScriptPort(func(b frame.Block) []frame.Block {
		if b.Kind == frame.KindS {
			return []frame.Block{frame.S(frame.NADDevice, b.S, true)}
		}
		blk := frame.I(frame.NADDevice, ns, true, chunk)
		ns ^= 1
		return []frame.Block{blk}
	})
	l := testLink(p)
	_, err := l.transact(context.Background(), []byte{0x01}, time.Now().Add(10*time.Second))
	if err != ErrProtocol {
		t.Fatalf("err %v", err)
	}
}
