package scan

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// TextSource produces already decoded texts (a serial barcode scanner).
type TextSource interface {
	Text(ctx context.Context) (string, error)
	Close() error
}

// Code is one code seen by a Scanner.
type Code struct {
	Text    string
	Source  string
	At      time.Time     // when the frame (or line) arrived
	Decode  time.Duration // decoding time, 0 for text sources
	Attempt Attempt       // the ladder rung, "" for text sources
}

// Options configure a Scanner. The zero value: default Decoder, a 3 s
// duplicate window, latest frame wins.
type Options struct {
	Decoder *Decoder
	// Window: the same text is not reported again until it has not been
	// seen for this long. 0 = 3 s; negative = report every sighting.
	Window time.Duration
	// Lossless decodes every frame in order instead of only the latest (a
	// folder of files, where each frame is a different picture).
	Lossless bool
	// OnError, when set, hears frame and line errors the scanner skips
	// (unreadable files, stray frames); nil = ignore them.
	OnError func(error)

	now func() time.Time // test hook
}

// Stats count what a Scanner did.
type Stats struct {
	Frames     int // frames read from the source
	Dropped    int // frames replaced by a newer one before decoding
	Decoded    int // frames in which a code was found
	Duplicates int // codes suppressed by the window
}

// Scanner turns a frame or text source into a stream of new codes.
type Scanner struct {
	frames FrameSource
	texts  TextSource
	opts   Options

	turn  chan struct{} // one Next at a time (a token)
	mu    sync.Mutex
	stats Stats
	seen  map[string]time.Time

	start  sync.Once
	cancel context.CancelFunc
	latest chan frameOrErr
}

type frameOrErr struct {
	f   Frame
	err error
}

// NewFrameScanner decodes frames from src.
func NewFrameScanner(src FrameSource, opts Options) *Scanner {
	return &Scanner{frames: src, opts: opts, seen: map[string]time.Time{}, turn: make(chan struct{}, 1)}
}

// NewTextScanner reads texts from src (a serial scanner).
func NewTextScanner(src TextSource, opts Options) *Scanner {
	return &Scanner{texts: src, opts: opts, seen: map[string]time.Time{}, turn: make(chan struct{}, 1)}
}

func (s *Scanner) now() time.Time {
	if s.opts.now != nil {
		return s.opts.now()
	}
	return time.Now()
}

// Next blocks until a code not reported within the window is seen, the
// source ends (io.EOF), fails, or ctx ends. Errors of single frames or
// lines go to OnError and scanning goes on. Calls from several goroutines
// take turns (a cancelled call may need up to a read timeout to return; the
// next one waits for it rather than reading the source beside it).
func (s *Scanner) Next(ctx context.Context) (Code, error) {
	select {
	case s.turn <- struct{}{}:
	case <-ctx.Done():
		return Code{}, ctx.Err()
	}
	defer func() { <-s.turn }()
	for {
		c, err := s.next(ctx)
		if err != nil {
			return Code{}, err
		}
		if s.fresh(c) {
			return c, nil
		}
	}
}

// fresh applies the duplicate window and records the sighting.
func (s *Scanner) fresh(c Code) bool {
	w := s.opts.Window
	if w == 0 {
		w = 3 * time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	last, ok := s.seen[c.Text]
	s.seen[c.Text] = now
	if w > 0 && ok && now.Sub(last) < w {
		s.stats.Duplicates++
		return false
	}
	if len(s.seen) > 1024 { // forget old sightings
		for t, at := range s.seen {
			if now.Sub(at) >= w {
				delete(s.seen, t)
			}
		}
	}
	return true
}

func (s *Scanner) next(ctx context.Context) (Code, error) {
	if s.texts != nil {
		for {
			t, err := s.texts.Text(ctx)
			if err == nil {
				return Code{Text: t, Source: sourceName(s.texts), At: s.now()}, nil
			}
			if ctx.Err() != nil || !skippable(err) {
				return Code{}, err
			}
			s.report(err)
		}
	}
	dec := s.opts.Decoder
	if dec == nil {
		dec = &Decoder{}
	}
	for {
		f, err := s.frame(ctx)
		if err != nil {
			if ctx.Err() != nil || !skippable(err) {
				return Code{}, err
			}
			s.report(err)
			continue
		}
		res, err := dec.Decode(f.Img)
		if err != nil {
			continue
		}
		s.mu.Lock()
		s.stats.Decoded++
		s.mu.Unlock()
		return Code{Text: res.Text, Source: f.Source, At: f.At, Decode: res.Elapsed, Attempt: res.Attempt}, nil
	}
}

// skippable: errors of one frame or line, after which the source goes on.
func skippable(err error) bool {
	var fe *FileError
	return errors.As(err, &fe) || errors.Is(err, ErrLineTooLong) || errors.Is(err, ErrFrameSize)
}

func (s *Scanner) report(err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(err)
	}
}

// frame returns the next frame to decode: in order when Lossless, else the
// newest one the reader goroutine holds (older ones are dropped).
func (s *Scanner) frame(ctx context.Context) (Frame, error) {
	if s.opts.Lossless {
		f, err := s.frames.Frame(ctx)
		if err == nil {
			s.mu.Lock()
			s.stats.Frames++
			s.mu.Unlock()
		}
		return f, err
	}
	s.start.Do(func() {
		var rctx context.Context
		rctx, s.cancel = context.WithCancel(context.Background())
		s.latest = make(chan frameOrErr, 1)
		go s.read(rctx)
	})
	select {
	case <-ctx.Done():
		return Frame{}, ctx.Err()
	case fe, ok := <-s.latest:
		if !ok {
			return Frame{}, io.EOF
		}
		return fe.f, fe.err
	}
}

// read runs until the source fails: it keeps only the latest frame in the
// one-slot channel, replacing an undecoded one.
func (s *Scanner) read(ctx context.Context) {
	defer close(s.latest)
	for {
		f, err := s.frames.Frame(ctx)
		if err != nil && !skippable(err) {
			select { // a failure is not dropped: wait for the consumer
			case s.latest <- frameOrErr{err: err}:
			case <-ctx.Done():
			}
			return
		}
		s.mu.Lock()
		if err == nil {
			s.stats.Frames++
		}
		s.mu.Unlock()
		item := frameOrErr{f: f, err: err}
		for {
			select {
			case s.latest <- item:
			case <-ctx.Done():
				return
			default:
				select {
				case <-s.latest:
					s.mu.Lock()
					s.stats.Dropped++
					s.mu.Unlock()
				default:
				}
				continue
			}
			break
		}
	}
}

// Stats returns the counters so far.
func (s *Scanner) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Close stops the reader and closes the source.
func (s *Scanner) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	if s.texts != nil {
		return s.texts.Close()
	}
	return s.frames.Close()
}

func sourceName(t TextSource) string {
	if s, ok := t.(*Serial); ok {
		return s.Path
	}
	return "text"
}
