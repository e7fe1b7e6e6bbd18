package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestFilesAndDir(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), codeImage(t, "first", 4, 320, 240, 40, 40))
	os.WriteFile(filepath.Join(dir, "junk.png"), []byte("not a png"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)

	f := &Files{Paths: []string{filepath.Join(dir, "a.png"), filepath.Join(dir, "junk.png"), filepath.Join(dir, "missing.png")}}
	ctx := context.Background()
	fr, err := f.Frame(ctx)
	if err != nil || fr.Img.Rect.Dx() != 320 {
		t.Fatalf("a.png: %v", err)
	}
	for _, name := range []string{"junk.png", "missing.png"} {
		var fe *FileError
		if _, err := f.Frame(ctx); !errors.As(err, &fe) || filepath.Base(fe.Path) != name {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := f.Frame(ctx); err != io.EOF {
		t.Fatalf("after the last: %v", err)
	}

	// Dir: the files present, then one that appears later; junk is an
	// error the scanner skips.
	var errs []error
	s := NewFrameScanner(&Dir{Path: dir, Poll: 20 * time.Millisecond}, Options{Lossless: true, OnError: func(err error) { errs = append(errs, err) }})
	defer s.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := s.Next(ctx)
	if err != nil || c.Text != "first" {
		t.Fatalf("first: %q %v", c.Text, err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		writePNG(t, filepath.Join(dir, "b.png"), codeImage(t, "second", 4, 320, 240, 40, 40))
	}()
	c, err = s.Next(ctx)
	if err != nil || c.Text != "second" || filepath.Base(c.Source) != "b.png" {
		t.Fatalf("second: %+v %v", c, err)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "junk.png") {
		t.Fatalf("errors %v", errs)
	}
}

// mjpegServer streams frames as multipart/x-mixed-replace over real
// loopback HTTP, as IP cameras do, with a pause between frames.
func mjpegServer(t *testing.T, frames [][]byte, gap time.Duration, boundaryParam string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw := multipart.NewWriter(w)
		mw.SetBoundary("frameboundary")
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+boundaryParam)
		for _, f := range frames {
			h := textproto.MIMEHeader{}
			h.Set("Content-Type", "image/jpeg")
			h.Set("Content-Length", fmt.Sprint(len(f)))
			p, err := mw.CreatePart(h)
			if err != nil {
				return
			}
			p.Write(f)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(gap):
			}
		}
		mw.Close()
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPMJPEG(t *testing.T) {
	var frames [][]byte
	frames = append(frames, jpegBytes(t, codeImage(t, "nothing", 1, 64, 48, 200, 200))) // no code in view
	for i := 0; i < 3; i++ {
		frames = append(frames, jpegBytes(t, codeImage(t, "ipcam-code", 5, 640, 480, 100+10*i, 60)))
	}
	frames = append(frames, jpegBytes(t, codeImage(t, "other-code", 5, 640, 480, 100, 60)))
	for _, bp := range []string{"frameboundary", "--frameboundary"} {
		t.Run(bp, func(t *testing.T) {
			srv := mjpegServer(t, frames, 30*time.Millisecond, bp)
			s := NewFrameScanner(&HTTPMJPEG{URL: srv.URL}, Options{Lossless: true})
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var got []string
			for {
				c, err := s.Next(ctx)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, c.Text)
			}
			// The same code in three frames is reported once.
			if strings.Join(got, ",") != "ipcam-code,other-code" {
				t.Fatalf("codes %v, stats %+v", got, s.Stats())
			}
			if st := s.Stats(); st.Frames != 5 || st.Duplicates != 2 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestHTTPMJPEGNotMJPEG(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/404" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>")
	}))
	defer srv.Close()
	for _, p := range []string{"/", "/404"} {
		h := &HTTPMJPEG{URL: srv.URL + p}
		if _, err := h.Frame(context.Background()); !errors.Is(err, ErrMJPEG) {
			t.Errorf("%s: %v", p, err)
		}
		h.Close()
	}
}

func TestStream(t *testing.T) {
	var b bytes.Buffer
	texts := []string{"one", "two", "three"}
	for _, s := range texts {
		b.Write(jpegBytes(t, codeImage(t, s, 4, 320, 240, 30, 30)))
	}
	src := &Stream{R: &b, Name: "stdin"}
	d := &Decoder{}
	for _, want := range texts {
		f, err := src.Frame(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.Decode(f.Img)
		if err != nil || r.Text != want {
			t.Fatalf("frame: %q %v, want %q", r.Text, err, want)
		}
	}
	if _, err := src.Frame(context.Background()); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	// One PNG on stdin.
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "x.png"), codeImage(t, "png-on-stdin", 4, 320, 240, 30, 30))
	raw, _ := os.ReadFile(filepath.Join(dir, "x.png"))
	s := NewFrameScanner(&Stream{R: bytes.NewReader(raw), Name: "stdin"}, Options{Lossless: true})
	if c, err := s.Next(context.Background()); err != nil || c.Text != "png-on-stdin" {
		t.Fatalf("png: %q %v", c.Text, err)
	}
	if _, err := s.Next(context.Background()); err != io.EOF {
		t.Fatalf("png end: %v", err)
	}
	// Truncated JPEG.
	j := jpegBytes(t, codeImage(t, "x", 4, 100, 100, 0, 0))
	if _, err := (&Stream{R: bytes.NewReader(j[:len(j)/2])}).Frame(context.Background()); !errors.Is(err, ErrMJPEG) {
		t.Fatalf("truncated: %v", err)
	}
}

// burstSource hands out its first frame, waits for release, then hands out
// the rest as fast as asked and closes done.
type burstSource struct {
	frames  []Frame
	release chan struct{}
	done    chan struct{}
	i       int
}

func (s *burstSource) Frame(ctx context.Context) (Frame, error) {
	if s.i == 1 {
		<-s.release
	}
	if s.i == len(s.frames) {
		close(s.done)
		<-ctx.Done()
		return Frame{}, ctx.Err()
	}
	s.i++
	return s.frames[s.i-1], nil
}
func (s *burstSource) Close() error { return nil }

func TestLatestFrameWins(t *testing.T) {
	src := &burstSource{release: make(chan struct{}), done: make(chan struct{})}
	for i := 1; i <= 8; i++ {
		src.frames = append(src.frames, Frame{Img: codeImage(t, fmt.Sprintf("F%d", i), 4, 240, 240, 20, 20), Source: "test"})
	}
	s := NewFrameScanner(src, Options{})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first, err := s.Next(ctx)
	if err != nil || first.Text != "F1" {
		t.Fatalf("first: %q %v", first.Text, err)
	}
	// Decoding "falls behind": seven frames arrive before we ask again.
	close(src.release)
	<-src.done
	c, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Text != "F8" {
		t.Fatalf("after falling behind got %s, want the latest F8; stats %+v", c.Text, s.Stats())
	}
	if st := s.Stats(); st.Dropped != 6 || st.Frames != 8 || st.Decoded != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDuplicateWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	s := NewTextScanner(nil, Options{Window: 2 * time.Second, now: func() time.Time { return now }})
	steps := []struct {
		advance time.Duration
		text    string
		fresh   bool
	}{
		{0, "A", true}, {time.Second, "A", false}, {time.Second, "B", true},
		{500 * time.Millisecond, "A", false}, // seen 1.5 s ago (the window runs from the last sighting)
		{2500 * time.Millisecond, "A", true},
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		if got := s.fresh(Code{Text: st.text}); got != st.fresh {
			t.Fatalf("step %d (%s): fresh %v, want %v", i, st.text, got, st.fresh)
		}
	}
}

// TestHTTPMJPEGReconnect: the camera ends its stream after each frame; the
// source connects again and goes on.
func TestHTTPMJPEGReconnect(t *testing.T) {
	var n atomic.Int32
	frames := [][]byte{
		jpegBytes(t, codeImage(t, "before-drop", 5, 320, 240, 20, 20)),
		jpegBytes(t, codeImage(t, "after-drop", 5, 320, 240, 20, 20)),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)-1) % len(frames)
		mw := multipart.NewWriter(w)
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+mw.Boundary())
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "image/jpeg")
		p, _ := mw.CreatePart(h)
		p.Write(frames[i])
		mw.Close()
	}))
	defer srv.Close()
	s := NewFrameScanner(&HTTPMJPEG{URL: srv.URL, Reconnect: 20 * time.Millisecond}, Options{Lossless: true})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, want := range []string{"before-drop", "after-drop"} {
		c, err := s.Next(ctx)
		if err != nil || c.Text != want {
			t.Fatalf("got %q %v, want %q", c.Text, err, want)
		}
	}
	if n.Load() < 2 {
		t.Fatalf("%d connections", n.Load())
	}
}
