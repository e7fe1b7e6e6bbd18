package scan

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
)

// ErrMJPEG: a stream that is not MJPEG (wrong content type, broken JPEG
// framing, a frame larger than MaxImageBytes).
var ErrMJPEG = errors.New("scan: bad MJPEG stream")

// HTTPMJPEG is a FrameSource reading an IP camera's MJPEG stream: an HTTP
// GET answered with multipart/x-mixed-replace, one JPEG per part.
type HTTPMJPEG struct {
	URL    string
	Client *http.Client // nil = http.DefaultClient
	// Reconnect, when > 0, is the wait before connecting again after the
	// stream ended or broke (IP cameras drop streams); 0 = the end of the
	// stream is io.EOF. A refused connection is an error either way.
	Reconnect time.Duration

	resp *http.Response
	mr   *multipart.Reader
}

// Frame returns the next JPEG part as grayscale, connecting on first use.
func (h *HTTPMJPEG) Frame(ctx context.Context) (Frame, error) {
	for {
		f, err := h.frame(ctx)
		if err == nil || h.Reconnect <= 0 || ctx.Err() != nil || h.mr == nil {
			return f, err
		}
		h.Close()
		h.resp, h.mr = nil, nil
		select {
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		case <-time.After(h.Reconnect):
		}
	}
}

func (h *HTTPMJPEG) frame(ctx context.Context) (Frame, error) {
	if h.mr == nil {
		if err := h.connect(ctx); err != nil {
			return Frame{}, err
		}
	}
	for {
		p, err := h.mr.NextPart()
		if err != nil {
			if err == io.EOF {
				return Frame{}, io.EOF
			}
			return Frame{}, fmt.Errorf("%w: %s: %w", ErrMJPEG, h.URL, err)
		}
		if ct := p.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "image/jpeg") {
			continue // cameras interleave other parts now and then
		}
		b, err := io.ReadAll(io.LimitReader(p, MaxImageBytes+1))
		if err != nil {
			return Frame{}, fmt.Errorf("%w: %s: %w", ErrMJPEG, h.URL, err)
		}
		if len(b) > MaxImageBytes {
			return Frame{}, fmt.Errorf("%w: frame over %d bytes", ErrMJPEG, MaxImageBytes)
		}
		img, err := JPEGToGray(b)
		if err != nil {
			return Frame{}, err
		}
		return Frame{Img: img, Source: h.URL, At: time.Now()}, nil
	}
}

func (h *HTTPMJPEG) connect(ctx context.Context) error {
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("%w: %s: HTTP %s", ErrMJPEG, h.URL, resp.Status)
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		resp.Body.Close()
		return fmt.Errorf("%w: %s: content type %q", ErrMJPEG, h.URL, resp.Header.Get("Content-Type"))
	}
	// Some cameras repeat the leading "--" in the boundary parameter.
	h.resp, h.mr = resp, multipart.NewReader(resp.Body, strings.TrimPrefix(params["boundary"], "--"))
	return nil
}

// Close ends the HTTP stream.
func (h *HTTPMJPEG) Close() error {
	if h.resp != nil {
		return h.resp.Body.Close()
	}
	return nil
}

// Stream is a FrameSource over a byte stream of concatenated JPEG frames
// (MJPEG as ffmpeg -f mjpeg writes it, or one image on stdin). A stream
// that does not start with a JPEG is read whole as one PNG/GIF/JPEG image.
type Stream struct {
	R    io.Reader
	Name string // for Frame.Source, e.g. "stdin"

	br   *bufio.Reader
	done bool
}

// Frame reads the next frame.
func (s *Stream) Frame(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	if s.done {
		return Frame{}, io.EOF
	}
	if s.br == nil {
		s.br = bufio.NewReaderSize(s.R, 64<<10)
	}
	head, err := s.br.Peek(2)
	if err == io.EOF || err == nil && len(head) == 0 {
		return Frame{}, io.EOF
	}
	if err != nil && len(head) < 2 {
		if len(head) == 0 {
			return Frame{}, io.EOF
		}
		return Frame{}, fmt.Errorf("%w: %d stray bytes", ErrMJPEG, len(head))
	}
	if head[0] != 0xFF || head[1] != 0xD8 {
		s.done = true
		img, err := DecodeImage(s.br)
		if err != nil {
			return Frame{}, err
		}
		return Frame{Img: img, Source: s.Name, At: time.Now()}, nil
	}
	b, err := readJPEG(s.br)
	if err != nil {
		return Frame{}, err
	}
	img, err := JPEGToGray(b)
	if err != nil {
		return Frame{}, err
	}
	return Frame{Img: img, Source: s.Name, At: time.Now()}, nil
}

// Close does nothing (the caller owns R).
func (s *Stream) Close() error { return nil }

// readJPEG reads exactly one JPEG from r: SOI, marker segments by their
// lengths, and after SOS the entropy-coded data up to EOI (FF D9; in the
// data FF is followed by 00 or a restart marker D0-D7, so FF D9 cannot
// occur inside it).
func readJPEG(r *bufio.Reader) ([]byte, error) {
	var out []byte
	get := func() (byte, error) {
		c, err := r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: truncated JPEG: %w", ErrMJPEG, err)
		}
		if len(out) >= MaxImageBytes {
			return 0, fmt.Errorf("%w: frame over %d bytes", ErrMJPEG, MaxImageBytes)
		}
		out = append(out, c)
		return c, nil
	}
	if a, err := get(); err != nil || a != 0xFF {
		return nil, fmt.Errorf("%w: no SOI", ErrMJPEG)
	}
	if b, err := get(); err != nil || b != 0xD8 {
		return nil, fmt.Errorf("%w: no SOI", ErrMJPEG)
	}
	inScan := false
	for {
		c, err := get()
		if err != nil {
			return nil, err
		}
		if c != 0xFF {
			if inScan {
				continue
			}
			return nil, fmt.Errorf("%w: junk between segments", ErrMJPEG)
		}
		m, err := get()
		if err != nil {
			return nil, err
		}
		for m == 0xFF { // fill bytes
			if m, err = get(); err != nil {
				return nil, err
			}
		}
		switch {
		case m == 0xD9:
			return out, nil
		case inScan && (m == 0x00 || m >= 0xD0 && m <= 0xD7):
			continue
		case m == 0x01 || m >= 0xD0 && m <= 0xD7:
			continue // standalone markers
		}
		hi, err := get()
		if err != nil {
			return nil, err
		}
		lo, err := get()
		if err != nil {
			return nil, err
		}
		n := int(hi)<<8 | int(lo)
		if n < 2 {
			return nil, fmt.Errorf("%w: segment length %d", ErrMJPEG, n)
		}
		for i := 0; i < n-2; i++ {
			if _, err := get(); err != nil {
				return nil, err
			}
		}
		inScan = m == 0xDA
	}
}
