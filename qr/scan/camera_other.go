//go:build !linux

package scan

import (
	"context"
	"fmt"
)

// Camera is only available on Linux (V4L2).
type Camera struct{}

// OpenCamera fails: V4L2 is Linux only.
func OpenCamera(path string, opts CameraOptions) (*Camera, error) {
	return nil, fmt.Errorf("%w: V4L2 cameras need Linux", ErrCamera)
}

// Frame is never called.
func (c *Camera) Frame(ctx context.Context) (Frame, error) { return Frame{}, ErrCamera }

// Close does nothing.
func (c *Camera) Close() error { return nil }
