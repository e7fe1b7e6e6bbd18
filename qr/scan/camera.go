package scan

import (
	"errors"
	"fmt"
	"image"
)

// CameraOptions choose the capture mode. The zero value asks for 1280x720.
type CameraOptions struct {
	Width, Height int // wanted size; the nearest the camera offers is used
}

// ErrCamera: the device is not a usable capture device (no YUYV or MJPEG,
// not a V4L2 device, not present).
var ErrCamera = errors.New("scan: camera")

// Pixel formats the camera source converts (V4L2 FourCC codes).
const (
	FourCCYUYV uint32 = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
	FourCCMJPG uint32 = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
)

// FrameToGray converts one captured V4L2 buffer to grayscale by its pixel
// format: YUYV luma, or the Y plane of an MJPEG frame.
func FrameToGray(format uint32, buf []byte, w, h int) (*image.Gray, error) {
	switch format {
	case FourCCYUYV:
		return YUYVToGray(buf, w, h, 0)
	case FourCCMJPG:
		img, err := JPEGToGray(buf)
		if err != nil {
			return nil, err
		}
		return img, nil
	}
	return nil, fmt.Errorf("%w: %08X", ErrFormat, format)
}
