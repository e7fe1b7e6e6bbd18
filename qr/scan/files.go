package scan

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/gif" // image files: GIF
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// MaxImageBytes bounds an image file or stream frame (a 4K JPEG is ~2 MB).
const MaxImageBytes = 16 << 20

// MaxPixels bounds a decoded image (checked from the header before
// decoding: a hostile file cannot make us allocate gigabytes).
const MaxPixels = 4096 * 4096

// ReadImage reads an image file (PNG, JPEG, GIF) as grayscale.
func ReadImage(path string) (*image.Gray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeImage(io.LimitReader(f, MaxImageBytes))
}

// DecodeImage decodes a PNG, JPEG or GIF as grayscale, refusing images of
// more than MaxPixels.
func DecodeImage(r io.Reader) (*image.Gray, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxImageBytes))
	if err != nil {
		return nil, err
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("scan: image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d", ErrFrameSize, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("scan: image: %w", err)
	}
	return ToGray(img), nil
}

// Files is a FrameSource over a list of image files, in order; io.EOF
// after the last. A file that cannot be read is returned as a *FileError
// and the list goes on.
type Files struct {
	Paths []string
	next  int
}

// FileError names the file a frame could not be read from.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *FileError) Unwrap() error { return e.Err }

// Frame reads the next file.
func (f *Files) Frame(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	if f.next >= len(f.Paths) {
		return Frame{}, io.EOF
	}
	p := f.Paths[f.next]
	f.next++
	img, err := ReadImage(p)
	if err != nil {
		return Frame{}, &FileError{Path: p, Err: err}
	}
	return Frame{Img: img, Source: p, At: time.Now()}, nil
}

// Close does nothing.
func (f *Files) Close() error { return nil }

// Dir is a FrameSource that watches a folder: every image file that appears
// in it (or is there at the start) is one frame, oldest first. It polls;
// a file is read once its size has been stable for one poll (a writer has
// finished it).
type Dir struct {
	Path string
	Poll time.Duration // 0 = 200 ms

	seen    map[string]int64 // name -> size at last poll; -1 = done
	pending []string
}

var imageExt = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true}

// Frame returns the next new image in the folder, waiting for one.
func (d *Dir) Frame(ctx context.Context) (Frame, error) {
	if d.seen == nil {
		d.seen = map[string]int64{}
	}
	poll := d.Poll
	if poll == 0 {
		poll = 200 * time.Millisecond
	}
	for {
		for len(d.pending) > 0 {
			name := d.pending[0]
			d.pending = d.pending[1:]
			p := filepath.Join(d.Path, name)
			img, err := ReadImage(p)
			if err != nil {
				return Frame{}, &FileError{Path: p, Err: err}
			}
			return Frame{Img: img, Source: p, At: time.Now()}, nil
		}
		if err := d.scan(); err != nil {
			return Frame{}, err
		}
		if len(d.pending) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		case <-time.After(poll):
		}
	}
}

func (d *Dir) scan() error {
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		return err
	}
	type cand struct {
		name string
		mod  time.Time
	}
	var ready []cand
	for _, e := range entries {
		if e.IsDir() || !imageExt[strings.ToLower(filepath.Ext(e.Name()))] || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		last, ok := d.seen[e.Name()]
		switch {
		case last == -1:
		case ok && last == info.Size() && info.Size() > 0:
			d.seen[e.Name()] = -1
			ready = append(ready, cand{e.Name(), info.ModTime()})
		default:
			d.seen[e.Name()] = info.Size()
		}
	}
	sort.Slice(ready, func(i, j int) bool {
		if !ready[i].mod.Equal(ready[j].mod) {
			return ready[i].mod.Before(ready[j].mod)
		}
		return ready[i].name < ready[j].name
	})
	for _, c := range ready {
		d.pending = append(d.pending, c.name)
	}
	return nil
}

// Close does nothing.
func (d *Dir) Close() error { return nil }
