package scan

import (
	"bytes"
	"context"
	"image"
	"testing"
)

// FuzzStream: a hostile byte stream on stdin (MJPEG splitting, image
// decoding) ends in frames or errors, never a panic or a hang.
func FuzzStream(f *testing.F) {
	j := jpegBytes(f, codeImage(f, "x", 2, 64, 64, 4, 4))
	f.Add(j)
	f.Add(append(append([]byte{}, j...), j...))
	f.Add(j[:len(j)/2])
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0x00, 0xFF, 0xD9})
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	for _, c := range streamCrashers {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &Stream{R: bytes.NewReader(b)}
		for i := 0; i < 64; i++ {
			if _, err := s.Frame(context.Background()); err != nil {
				return
			}
		}
	})
}

// FuzzDecode: any small picture goes through the whole ladder without a
// panic (gozxing is third-party code fed hostile pixels).
func FuzzDecode(f *testing.F) {
	f.Add(uint8(40), uint8(40), bytes.Repeat([]byte{0, 255}, 800))
	f.Add(uint8(25), uint8(21), codeImage(f, "seed", 1, 25, 21, 0, 0).Pix)
	f.Fuzz(func(t *testing.T, w, h uint8, pix []byte) {
		if int(w)*int(h) > len(pix) || w == 0 || h == 0 {
			return
		}
		img := &image.Gray{Pix: pix[:int(w)*int(h)], Stride: int(w), Rect: image.Rect(0, 0, int(w), int(h))}
		(&Decoder{}).Decode(img)
	})
}

// Inputs that tripped earlier drafts of the stream splitter, kept as
// named cases (no crash found by fuzzing since).
var streamCrashers = []struct {
	name string
	in   []byte
}{
	{"soi-only", []byte{0xFF, 0xD8}},
	{"segment-length-1", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01}},
	{"fill-bytes-at-end", []byte{0xFF, 0xD8, 0xFF, 0xFF, 0xFF}},
	{"one-stray-byte", []byte{0x01}},
}

func TestStreamCrashers(t *testing.T) {
	for _, c := range streamCrashers {
		t.Run(c.name, func(t *testing.T) {
			s := &Stream{R: bytes.NewReader(c.in)}
			if _, err := s.Frame(context.Background()); err == nil {
				t.Fatal("a broken stream gave a frame")
			}
		})
	}
}
