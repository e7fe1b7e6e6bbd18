package scan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/blackjack/webcam"
)

// Camera is a V4L2 capture device (github.com/blackjack/webcam, pure Go
// ioctls). The only OS calls of the package are in this file.
type Camera struct {
	Path   string
	cam    *webcam.Webcam
	format uint32
	w, h   int
}

// OpenCamera opens a V4L2 device, picks YUYV (else MJPEG) at the size
// nearest to the one asked for, and starts streaming.
func OpenCamera(path string, opts CameraOptions) (*Camera, error) {
	if opts.Width == 0 {
		opts.Width, opts.Height = 1280, 720
	}
	cam, err := webcam.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCamera, path, err)
	}
	formats := cam.GetSupportedFormats()
	var pf webcam.PixelFormat
	switch {
	case formats[webcam.PixelFormat(FourCCYUYV)] != "":
		pf = webcam.PixelFormat(FourCCYUYV)
	case formats[webcam.PixelFormat(FourCCMJPG)] != "":
		pf = webcam.PixelFormat(FourCCMJPG)
	default:
		cam.Close()
		return nil, fmt.Errorf("%w: %s offers neither YUYV nor MJPEG", ErrCamera, path)
	}
	w, h := uint32(opts.Width), uint32(opts.Height)
	best := -1
	for _, s := range cam.GetSupportedFrameSizes(pf) {
		cw, ch := clamp(uint32(opts.Width), s.MinWidth, s.MaxWidth), clamp(uint32(opts.Height), s.MinHeight, s.MaxHeight)
		d := abs(int(cw)-opts.Width) + abs(int(ch)-opts.Height)
		if best < 0 || d < best {
			best, w, h = d, cw, ch
		}
	}
	got, gw, gh, err := cam.SetImageFormat(pf, w, h)
	if err != nil {
		cam.Close()
		return nil, fmt.Errorf("%w: %s: setting format: %w", ErrCamera, path, err)
	}
	cam.SetBufferCount(2) // few buffers: the latest frame matters, not every frame
	if err := cam.StartStreaming(); err != nil {
		cam.Close()
		return nil, fmt.Errorf("%w: %s: streaming: %w", ErrCamera, path, err)
	}
	return &Camera{Path: path, cam: cam, format: uint32(got), w: int(gw), h: int(gh)}, nil
}

func clamp(v, lo, hi uint32) uint32 { return min(max(v, lo), hi) }

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// Frame waits for the next captured frame (checking ctx every second).
func (c *Camera) Frame(ctx context.Context) (Frame, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Frame{}, err
		}
		err := c.cam.WaitForFrame(1)
		var timeout *webcam.Timeout
		if errors.As(err, &timeout) {
			continue
		}
		if err != nil {
			return Frame{}, fmt.Errorf("%w: %s: %w", ErrCamera, c.Path, err)
		}
		buf, err := c.cam.ReadFrame()
		if err != nil {
			return Frame{}, fmt.Errorf("%w: %s: %w", ErrCamera, c.Path, err)
		}
		if len(buf) == 0 {
			continue
		}
		img, err := FrameToGray(c.format, buf, c.w, c.h)
		if err != nil {
			return Frame{}, err
		}
		return Frame{Img: img, Source: c.Path, At: time.Now()}, nil
	}
}

// Close stops streaming and closes the device.
func (c *Camera) Close() error {
	c.cam.StopStreaming()
	return c.cam.Close()
}
