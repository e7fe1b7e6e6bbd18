package scan

import (
	"errors"
	"image"
	"image/color"
	"math/rand"
	"testing"
)

func TestYUYVToGray(t *testing.T) {
	const w, h = 64, 8
	rng := rand.New(rand.NewSource(1))
	want := make([]byte, w*h)
	buf := make([]byte, 2*w*h)
	for i := range want {
		want[i] = byte(rng.Intn(256))
		buf[2*i] = want[i]
		buf[2*i+1] = byte(rng.Intn(256)) // U or V: must not leak into luma
	}
	img, err := YUYVToGray(buf, w, h, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if img.Pix[i] != want[i] {
			t.Fatalf("pixel %d = %d, want %d", i, img.Pix[i], want[i])
		}
	}
	// A padded stride (bytesperline > 2w) skips the padding.
	const stride = 2*w + 16
	pbuf := make([]byte, stride*h)
	for y := 0; y < h; y++ {
		copy(pbuf[y*stride:], buf[y*2*w:(y+1)*2*w])
		for i := 2 * w; i < stride; i++ {
			pbuf[y*stride+i] = 0xEE
		}
	}
	img2, err := YUYVToGray(pbuf, w, h, stride)
	if err != nil || string(img2.Pix) != string(img.Pix) {
		t.Fatalf("strided conversion differs: %v", err)
	}
	if _, err := YUYVToGray(buf[:len(buf)-1], w, h, 0); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("short buffer: %v", err)
	}
	if _, err := YUYVToGray(buf, 0, h, 0); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("zero width: %v", err)
	}
	if g, err := FrameToGray(FourCCYUYV, buf, w, h); err != nil || string(g.Pix) != string(img.Pix) {
		t.Fatalf("FrameToGray YUYV: %v", err)
	}
}

func TestMJPEGToGray(t *testing.T) {
	// A colour frame whose luma is a horizontal ramp: red, green and blue
	// mixes of equal luma per column.
	const w, h = 96, 32
	src := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(x * 255 / (w - 1))
			src.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	g, err := FrameToGray(FourCCMJPG, jpegBytes(t, src), w, h)
	if err != nil {
		t.Fatal(err)
	}
	if g.Rect.Dx() != w || g.Rect.Dy() != h {
		t.Fatalf("size %v", g.Rect)
	}
	for x := 0; x < w; x += 7 {
		want := int(x * 255 / (w - 1))
		got := int(g.GrayAt(x, h/2).Y)
		if got < want-6 || got > want+6 {
			t.Errorf("x=%d: luma %d, want ~%d", x, got, want)
		}
	}
	if _, err := FrameToGray(FourCCMJPG, []byte{0xFF, 0xD8, 0xFF}, w, h); err == nil {
		t.Fatal("broken JPEG accepted")
	}
	if _, err := FrameToGray(0x12345678, nil, w, h); !errors.Is(err, ErrFormat) {
		t.Fatalf("unknown format: %v", err)
	}
}

func TestToGraySubImage(t *testing.T) {
	img := codeImage(t, "x", 2, 100, 100, 0, 0)
	sub := img.SubImage(image.Rect(10, 10, 60, 40)).(*image.Gray)
	ycc := image.NewYCbCr(image.Rect(0, 0, 50, 30), image.YCbCrSubsampleRatio420)
	for y := 0; y < 30; y++ {
		copy(ycc.Y[y*ycc.YStride:], sub.Pix[y*sub.Stride:y*sub.Stride+50])
	}
	g := ToGray(ycc)
	for y := 0; y < 30; y++ {
		for x := 0; x < 50; x++ {
			if g.GrayAt(x, y) != sub.GrayAt(10+x, 10+y) {
				t.Fatalf("pixel %d,%d differs", x, y)
			}
		}
	}
}
