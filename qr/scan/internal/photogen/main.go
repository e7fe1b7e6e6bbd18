// Command photogen writes the photo-like QR test set of qr/scan
// (testdata/qr/photos): payment codes rendered with go-qrcode, then put
// through what a camera at a till does to them: perspective, rotation,
// blur, noise, low light, glare and the moiré of filming a phone screen.
// Each image NAME.jpg has NAME.txt beside it with the text it holds. The
// output is deterministic (fixed seeds): run it again after changing the
// cases, and commit images and texts together.
//
//	go run ./qr/scan/internal/photogen -out testdata/qr/photos
package main

import (
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"log"
	"math"
	"math/rand"
	"os"
	"path/filepath"

	qrcode "github.com/skip2/go-qrcode"
)

// effects applied to one image, in this order.
type effects struct {
	size     float64 // code width as a share of the frame height
	rotate   float64 // degrees
	tiltX    float64 // perspective: -0.4..0.4, share by which the right edge shrinks
	tiltY    float64 // same, bottom edge
	blur     int     // box blur radius, three passes (≈ Gaussian)
	noise    float64 // Gaussian noise sigma, 0-255 scale
	light    float64 // brightness factor (1 = as is; 0.25 = dark)
	glare    float64 // peak of a bright blob added over the code, 0-255
	moire    float64 // amplitude of the screen interference pattern, 0..1
	screen   bool    // code on a phone screen: light on dark, pixel grid
	inverted bool    // light modules on dark ground (dark mode wallet)
}

type sample struct {
	name string
	text string
	fx   effects
}

var texts = []string{
	"00020101021229370016A000000677010111011300668123456785802TH530376454075000.506304B956",
	"00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D",
	"134567890123456789",
	"281234567890123456",
	"6212345678901234567",
	"hQVDUFYwMWESTwegAAAAAwEBUAdWSVNBIENSYhdaCEdhc5ABAQEZXyAKU01JVEgvSkFORQ==",
	"00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA530370454061800005802VN62340107NPS68690819thanh toan don hang63042E2E",
	"00020101021226420019com.posagent.acqsim0115MERCHANT0000001520458125303978540512.345802DE5918POSAGENT DEMO SHOP6006BERLIN62180502R10708TERM00016304EB5E",
}

func cases() []sample {
	base := effects{size: 0.55, light: 1}
	var out []sample
	add := func(name string, f func(e *effects)) {
		e := base
		f(&e)
		i := len(out)
		out = append(out, sample{name: fmt.Sprintf("%02d-%s", i, name), text: texts[i%len(texts)], fx: e})
	}
	add("clean", func(e *effects) {})
	add("clean-small", func(e *effects) { e.size = 0.3 })
	for _, r := range []float64{8, 23, 45, 67, 135, 200} {
		add(fmt.Sprintf("rotate-%.0f", r), func(e *effects) { e.rotate = r })
	}
	for _, t := range [][2]float64{{0.15, 0}, {0, 0.2}, {0.3, 0.1}, {-0.35, 0.2}, {0.45, -0.3}} {
		add(fmt.Sprintf("perspective-%.0f-%.0f", t[0]*100, t[1]*100), func(e *effects) { e.tiltX, e.tiltY = t[0], t[1]; e.rotate = 5 })
	}
	for _, b := range []int{1, 2, 3, 4} {
		add(fmt.Sprintf("blur-%d", b), func(e *effects) { e.blur = b })
	}
	for _, n := range []float64{12, 25, 40, 60} {
		add(fmt.Sprintf("noise-%.0f", n), func(e *effects) { e.noise = n })
	}
	for _, l := range []float64{0.5, 0.3, 0.18, 0.1} {
		add(fmt.Sprintf("lowlight-%.0f", l*100), func(e *effects) { e.light = l; e.noise = 6 })
	}
	for _, g := range []float64{120, 200, 255} {
		add(fmt.Sprintf("glare-%.0f", g), func(e *effects) { e.glare = g })
	}
	for _, m := range []float64{0.15, 0.3, 0.45} {
		add(fmt.Sprintf("screen-moire-%.0f", m*100), func(e *effects) { e.screen = true; e.moire = m })
	}
	add("screen-dark-mode", func(e *effects) { e.screen = true; e.inverted = true; e.moire = 0.15 })
	add("inverted-paper", func(e *effects) { e.inverted = true })
	// Combinations: what a till actually sees.
	add("phone-tilted-moire", func(e *effects) { e.screen = true; e.moire = 0.25; e.tiltX = 0.25; e.rotate = 12; e.blur = 1 })
	add("phone-glare-noise", func(e *effects) { e.screen = true; e.glare = 180; e.noise = 15; e.rotate = -20 })
	add("dim-blurred", func(e *effects) { e.light = 0.3; e.blur = 2; e.noise = 10 })
	add("far-rotated-noisy", func(e *effects) { e.size = 0.28; e.rotate = 33; e.noise = 20 })
	add("tilted-blurred", func(e *effects) { e.tiltX, e.tiltY = 0.3, 0.2; e.blur = 2 })
	add("dark-mode-tilted", func(e *effects) { e.screen = true; e.inverted = true; e.tiltY = 0.25; e.rotate = 40 })
	add("glare-lowlight", func(e *effects) { e.light = 0.4; e.glare = 220; e.noise = 8 })
	add("everything", func(e *effects) {
		e.screen = true
		e.moire, e.tiltX, e.tiltY, e.rotate, e.blur, e.noise, e.light, e.glare = 0.3, 0.2, -0.15, 28, 1, 14, 0.6, 150
	})
	add("heavy-blur-far", func(e *effects) { e.size = 0.3; e.blur = 3; e.noise = 8 })
	add("extreme-perspective", func(e *effects) { e.tiltX, e.tiltY = 0.55, 0.35; e.rotate = 20 })
	return out
}

func main() {
	out := flag.String("out", "testdata/qr/photos", "output folder")
	w := flag.Int("w", 640, "frame width")
	h := flag.Int("h", 480, "frame height")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	for i, s := range cases() {
		img, err := render(s, *w, *h, int64(1000+i))
		if err != nil {
			log.Fatalf("%s: %v", s.name, err)
		}
		f, err := os.Create(filepath.Join(*out, s.name+".jpg"))
		if err != nil {
			log.Fatal(err)
		}
		if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 82}); err != nil {
			log.Fatal(err)
		}
		f.Close()
		if err := os.WriteFile(filepath.Join(*out, s.name+".txt"), []byte(s.text), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// render draws one sample into a w x h grayscale frame.
func render(s sample, w, h int, seed int64) (*image.Gray, error) {
	rng := rand.New(rand.NewSource(seed))
	q, err := qrcode.New(s.text, qrcode.Medium)
	if err != nil {
		return nil, err
	}
	bm := q.Bitmap()
	n := len(bm)
	e := s.fx
	dark, light := 25.0, 235.0
	if e.screen {
		dark, light = 15.0, 215.0
	}
	if e.inverted {
		dark, light = light, dark
	}
	// Background: a lit counter top, darker around a phone.
	frame := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			frame[y*w+x] = 110 + 50*float64(x)/float64(w) + 20*math.Sin(float64(y)/37) + rng.Float64()*6
		}
	}
	// Where the code lands: a square (with the quiet zone) of side
	// size*h around the centre, rotated, then corners pulled in for tilt.
	side := e.size * float64(h)
	cx, cy := float64(w)/2+rng.Float64()*30-15, float64(h)/2+rng.Float64()*20-10
	a := e.rotate * math.Pi / 180
	corner := func(u, v float64) [2]float64 { // u, v in -0.5..0.5
		uu := u * (1 - e.tiltY*(v+0.5)) // bottom edge narrower
		vv := v * (1 - e.tiltX*(u+0.5)) // right edge shorter
		x, y := uu*side, vv*side
		return [2]float64{cx + x*math.Cos(a) - y*math.Sin(a), cy + x*math.Sin(a) + y*math.Cos(a)}
	}
	dst := [4][2]float64{corner(-0.5, -0.5), corner(0.5, -0.5), corner(0.5, 0.5), corner(-0.5, 0.5)}
	src := [4][2]float64{{0, 0}, {float64(n), 0}, {float64(n), float64(n)}, {0, float64(n)}}
	hm := homography(dst, src) // frame pixel -> module coordinates
	// A phone: a dark bezel around the code.
	bezel := 1.25
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			u, v, ok := apply(hm, float64(x)+0.5, float64(y)+0.5)
			if !ok {
				continue
			}
			m := float64(n)
			if e.screen && u > -m*(bezel-1) && u < m*bezel && v > -m*(bezel-1)*1.6 && v < m*(bezel+0.6) && (u < 0 || v < 0 || u >= m || v >= m) {
				frame[y*w+x] = 20 // bezel and screen border
				continue
			}
			if u < 0 || v < 0 || u >= m || v >= m {
				continue
			}
			// Area sampling: 3x3 sub-samples per pixel (anti-aliased edges).
			var sum float64
			for sy := 0; sy < 3; sy++ {
				for sx := 0; sx < 3; sx++ {
					su, sv, _ := apply(hm, float64(x)+(float64(sx)+0.5)/3, float64(y)+(float64(sy)+0.5)/3)
					mi, mj := int(math.Floor(sv)), int(math.Floor(su))
					if mi >= 0 && mj >= 0 && mi < n && mj < n && bm[mi][mj] {
						sum += dark
					} else {
						sum += light
					}
				}
			}
			frame[y*w+x] = sum / 9
			if e.screen {
				// The display's pixel grid seen by the camera: the
				// moiré of two grids at slightly different pitch and angle.
				gx := float64(x)*math.Cos(0.07) + float64(y)*math.Sin(0.07)
				gy := -float64(x)*math.Sin(0.07) + float64(y)*math.Cos(0.07)
				p := 0.5 + 0.25*math.Cos(2*math.Pi*gx/2.9) + 0.25*math.Cos(2*math.Pi*gy/3.1)
				frame[y*w+x] *= 1 - e.moire*p
			}
		}
	}
	if e.glare > 0 {
		gx, gy := cx+side*0.15, cy-side*0.1
		r := side * 0.22
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				d2 := (float64(x)-gx)*(float64(x)-gx) + (float64(y)-gy)*(float64(y)-gy)
				frame[y*w+x] += e.glare * math.Exp(-d2/(2*r*r))
			}
		}
	}
	for i := range frame {
		frame[i] = math.Min(255, frame[i]) * e.light
	}
	for i := 0; i < e.blur; i++ {
		for pass := 0; pass < 3; pass++ {
			boxBlur(frame, w, h, 1)
		}
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range frame {
		v += rng.NormFloat64() * e.noise
		img.Pix[i] = uint8(math.Max(0, math.Min(255, v)))
	}
	return img, nil
}

// boxBlur blurs in place with radius r, horizontally then vertically.
func boxBlur(p []float64, w, h, r int) {
	tmp := make([]float64, len(p))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float64
			c := 0
			for d := -r; d <= r; d++ {
				if xx := x + d; xx >= 0 && xx < w {
					s += p[y*w+xx]
					c++
				}
			}
			tmp[y*w+x] = s / float64(c)
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float64
			c := 0
			for d := -r; d <= r; d++ {
				if yy := y + d; yy >= 0 && yy < h {
					s += tmp[yy*w+x]
					c++
				}
			}
			p[y*w+x] = s / float64(c)
		}
	}
}

// homography returns the 3x3 matrix mapping the four from points to the
// four to points (direct linear transform, h33 = 1).
func homography(from, to [4][2]float64) [9]float64 {
	var a [8][9]float64
	for i := 0; i < 4; i++ {
		x, y, u, v := from[i][0], from[i][1], to[i][0], to[i][1]
		a[2*i] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		a[2*i+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	for c := 0; c < 8; c++ { // Gauss-Jordan with partial pivoting
		p := c
		for r := c + 1; r < 8; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		for r := 0; r < 8; r++ {
			if r != c {
				f := a[r][c] / a[c][c]
				for k := c; k < 9; k++ {
					a[r][k] -= f * a[c][k]
				}
			}
		}
	}
	var hm [9]float64
	for i := 0; i < 8; i++ {
		hm[i] = a[i][8] / a[i][i]
	}
	hm[8] = 1
	return hm
}

func apply(hm [9]float64, x, y float64) (float64, float64, bool) {
	d := hm[6]*x + hm[7]*y + hm[8]
	if d <= 1e-9 {
		return 0, 0, false
	}
	return (hm[0]*x + hm[1]*y + hm[2]) / d, (hm[3]*x + hm[4]*y + hm[5]) / d, true
}
