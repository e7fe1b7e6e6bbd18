package scan

import (
	"errors"
	"image"
	"slices"
	"testing"
	"time"
)

const testText = "00020101021226160004TEST0104123452045812530397854041.005802DE5904SHOP6006BERLIN63046D7F"

func TestDecoderLadder(t *testing.T) {
	big := codeImage(t, testText, 8, 1280, 720, 400, 100)
	small := codeImage(t, testText, 2, 1280, 720, 601, 301) // 2 px/module: lost at half size
	inverted := codeImage(t, testText, 6, 640, 480, 100, 40)
	for i, p := range inverted.Pix {
		inverted.Pix[i] = 255 - p
	}
	cases := []struct {
		name string
		img  *image.Gray
		want Attempt
	}{
		{"720p-large-code", big, AttemptDownscaled},
		{"720p-small-code", small, AttemptAsIs},
		{"vga", codeImage(t, testText, 4, 640, 480, 50, 50), AttemptDownscaled},
		{"vga-small-code", codeImage(t, testText, 2, 640, 480, 51, 51), AttemptAsIs},
		{"qvga", codeImage(t, testText, 3, 320, 240, 10, 10), AttemptAsIs},
		{"inverted", inverted, AttemptInverted},
	}
	d := &Decoder{Budget: time.Second}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := d.Decode(c.img)
			if err != nil {
				t.Fatal(err)
			}
			if r.Text != testText || r.Attempt != c.want {
				t.Fatalf("got %q by %s, want by %s", r.Text, r.Attempt, c.want)
			}
		})
	}
}

func TestDecoderNotFound(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 1280, 720))
	_, err := (&Decoder{Budget: 10 * time.Second}).Decode(blank)
	var de *DecodeError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &de) {
		t.Fatalf("err = %v", err)
	}
	if !slices.Equal(de.Tried, defaultLadder) {
		t.Fatalf("tried %v", de.Tried)
	}
	for _, img := range []*image.Gray{nil, image.NewGray(image.Rect(0, 0, 5, 5))} {
		if _, err := (&Decoder{}).Decode(img); !errors.Is(err, ErrNotFound) {
			t.Fatalf("tiny image: %v", err)
		}
	}
}

func TestDecoderBudget(t *testing.T) {
	// A clock that moves 30 ms per reading: the 50 ms budget allows two
	// attempts on a frame with no code.
	var now time.Time
	d := &Decoder{now: func() time.Time { now = now.Add(30 * time.Millisecond); return now }}
	_, err := d.Decode(image.NewGray(image.Rect(0, 0, 1280, 720)))
	var de *DecodeError
	if !errors.Is(err, ErrBudget) || !errors.As(err, &de) {
		t.Fatalf("err = %v", err)
	}
	if len(de.Tried) != 2 || de.Tried[0] != AttemptDownscaled {
		t.Fatalf("tried %v", de.Tried)
	}
}

func TestDownscale2(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 4, 2))
	copy(img.Pix, []byte{0, 4, 100, 101, 8, 12, 102, 103})
	d := Downscale2(img)
	if d.Rect.Dx() != 2 || d.Rect.Dy() != 1 || d.Pix[0] != 6 || d.Pix[1] != 102 {
		t.Fatalf("got %v %v", d.Rect, d.Pix)
	}
}

func TestBoxBlur(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 5, 4))
	img.Pix[2*5+2] = 225 // one bright pixel at (2,2)
	for _, c := range []struct {
		r    int
		want []byte
	}{
		// r=1: the 3x3 neighbourhood of (2,2) gets 225/9.
		{1, []byte{0, 0, 0, 0, 0, 0, 25, 25, 25, 0, 0, 25, 25, 25, 0, 0, 25, 25, 25, 0}},
		// r=2: edges repeat; (2,3) sees row 3 twice beyond the bottom but (2,2) once.
		{2, []byte{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}},
	} {
		b := boxBlur(img, c.r)
		if string(b.Pix) != string(c.want) {
			t.Fatalf("r=%d: %v, want %v", c.r, b.Pix, c.want)
		}
	}
}
