package scan

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// codeImage draws text as a QR code (go-qrcode's bitmap, quiet zone
// included) with px pixels per module at (x0, y0) on a w x h light-gray
// canvas.
func codeImage(t testing.TB, text string, px, w, h, x0, y0 int) *image.Gray {
	t.Helper()
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	for y, row := range q.Bitmap() {
		for x, dark := range row {
			v := byte(250)
			if dark {
				v = 20
			}
			for dy := 0; dy < px; dy++ {
				for dx := 0; dx < px; dx++ {
					X, Y := x0+x*px+dx, y0+y*px+dy
					if X < w && Y < h {
						img.Pix[Y*img.Stride+X] = v
					}
				}
			}
		}
	}
	return img
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
