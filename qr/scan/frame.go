package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"time"
)

// Frame is one grayscale image from a source.
type Frame struct {
	Img    *image.Gray
	Source string    // camera device, file name, URL
	At     time.Time // when the source produced it
}

// FrameSource produces frames. Frame blocks until the next one; io.EOF
// means the source has no more (a list of files).
type FrameSource interface {
	Frame(ctx context.Context) (Frame, error)
	Close() error
}

// Errors of frame conversion.
var (
	ErrFrameSize = errors.New("scan: frame buffer smaller than its dimensions")
	ErrFormat    = errors.New("scan: unsupported pixel format")
)

// YUYVToGray converts a packed YUYV 4:2:2 frame (Y0 U Y1 V ...) to
// grayscale: the luma bytes, every second byte. stride is bytes per line
// (0 = 2*w, as V4L2 reports it in bytesperline).
func YUYVToGray(buf []byte, w, h, stride int) (*image.Gray, error) {
	if stride == 0 {
		stride = 2 * w
	}
	if w <= 0 || h <= 0 || stride < 2*w || len(buf) < stride*(h-1)+2*w {
		return nil, fmt.Errorf("%w: %d bytes for %dx%d YUYV (stride %d)", ErrFrameSize, len(buf), w, h, stride)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		src := buf[y*stride : y*stride+2*w]
		dst := img.Pix[y*img.Stride : y*img.Stride+w]
		for x := range dst {
			dst[x] = src[2*x]
		}
	}
	return img, nil
}

// JPEGToGray decodes one JPEG (an MJPEG frame) to grayscale; for colour
// JPEGs that is the Y plane as decoded, with no colour conversion.
func JPEGToGray(b []byte) (*image.Gray, error) {
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("scan: MJPEG frame: %w", err)
	}
	return ToGray(img), nil
}

// ToGray returns img as *image.Gray: as is when it already is one, the Y
// plane of a YCbCr image, otherwise luma as ZXing computes it,
// (R + 2G + B) / 4, with transparency over white. (The standard colour
// model's 0.299/0.587/0.114 weights turn a few of zxing's own test images
// unreadable.)
func ToGray(img image.Image) *image.Gray {
	switch m := img.(type) {
	case *image.Gray:
		return m
	case *image.YCbCr:
		r := m.Rect
		g := image.NewGray(image.Rect(0, 0, r.Dx(), r.Dy()))
		for y := 0; y < r.Dy(); y++ {
			off := m.YOffset(r.Min.X, r.Min.Y+y)
			copy(g.Pix[y*g.Stride:y*g.Stride+r.Dx()], m.Y[off:off+r.Dx()])
		}
		return g
	}
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		row := g.Pix[y*g.Stride : y*g.Stride+b.Dx()]
		for x := range row {
			r, gr, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			lum := (r + 2*gr + bl) * 255 / (4 * 0xffff)
			row[x] = byte((lum*a + (0xffff-a)*255) / 0xffff)
		}
	}
	return g
}
