package scan

import (
	"errors"
	"fmt"
	"image"
	"strings"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Attempt is one rung of the decoding ladder.
type Attempt string

// The ladder, in the order Decode tries it. Downscaled comes first on
// frames wider than DownscaleAbove: a code that fills a fair part of the
// frame reads at half size in a quarter of the time, and the 2x2 averaging
// also smooths sensor noise and screen moiré; small codes fall through to
// the full frame. On the photo set (testdata/qr/photos) the downscaled and
// denoised rungs each decode images the full frame does not.
const (
	AttemptDownscaled Attempt = "downscaled" // 2x box-filtered, frames wider than DownscaleAbove
	AttemptAsIs       Attempt = "as-is"      // hybrid binariser, full frame
	AttemptDenoised   Attempt = "denoised"   // 5x5 box blur: sensor noise, low light, defocus halos
	AttemptInverted   Attempt = "inverted"   // light code on dark ground (phone dark mode)
	AttemptGlobal     Attempt = "global"     // global histogram binariser (low contrast, blur)
	AttemptTryHarder  Attempt = "try-harder" // TRY_HARDER: slower finder pattern search
)

// Decoder errors.
var (
	// ErrNotFound: every attempt ran and none found a code.
	ErrNotFound = errors.New("scan: no QR code found")
	// ErrBudget: the time budget ran out before the ladder was done.
	ErrBudget = errors.New("scan: frame time budget used up")
)

// DecodeError says what a decode tried. It unwraps to ErrNotFound or
// ErrBudget.
type DecodeError struct {
	Tried   []Attempt
	Elapsed time.Duration
	Err     error
}

func (e *DecodeError) Error() string {
	tried := make([]string, len(e.Tried))
	for i, a := range e.Tried {
		tried[i] = string(a)
	}
	return fmt.Sprintf("%v (tried %s in %v)", e.Err, strings.Join(tried, ", "), e.Elapsed.Round(time.Microsecond))
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// Result is a decoded code.
type Result struct {
	Text    string
	Attempt Attempt       // the rung that found it
	Elapsed time.Duration // the whole Decode call
}

// Decoder runs the ladder. The zero value is ready: budget 50 ms,
// downscaling above 480 pixels wide.
type Decoder struct {
	// Budget is the time one frame may take; an attempt is not started
	// once it is used up (a running attempt is not interrupted). 0 = 50 ms.
	Budget time.Duration
	// DownscaleAbove: frames wider than this get the downscaled attempt
	// first. 0 = 480; negative = never.
	DownscaleAbove int
	// Ladder overrides the attempts and their order (nil = all, as listed).
	Ladder []Attempt

	now func() time.Time // test hook
}

var defaultLadder = []Attempt{AttemptDownscaled, AttemptAsIs, AttemptDenoised, AttemptInverted, AttemptGlobal, AttemptTryHarder}

// Decode looks for a QR code in img.
func (d *Decoder) Decode(img *image.Gray) (Result, error) {
	now := d.now
	if now == nil {
		now = time.Now
	}
	budget := d.Budget
	if budget == 0 {
		budget = 50 * time.Millisecond
	}
	above := d.DownscaleAbove
	if above == 0 {
		above = 480
	}
	ladder := d.Ladder
	if ladder == nil {
		ladder = defaultLadder
	}
	start := now()
	var tried []Attempt
	if img == nil || img.Rect.Dx() < 21 || img.Rect.Dy() < 21 {
		return Result{}, &DecodeError{Err: ErrNotFound}
	}
	for _, a := range ladder {
		if a == AttemptDownscaled && (above < 0 || img.Rect.Dx() <= above) {
			continue
		}
		if len(tried) > 0 && now().Sub(start) >= budget {
			return Result{}, &DecodeError{Tried: tried, Elapsed: now().Sub(start), Err: ErrBudget}
		}
		tried = append(tried, a)
		if text, ok := attempt(img, a); ok {
			return Result{Text: text, Attempt: a, Elapsed: now().Sub(start)}, nil
		}
	}
	return Result{}, &DecodeError{Tried: tried, Elapsed: now().Sub(start), Err: ErrNotFound}
}

var (
	hints          = map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_CHARACTER_SET: "UTF-8"}
	hintsTryHarder = map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_CHARACTER_SET: "UTF-8", gozxing.DecodeHintType_TRY_HARDER: true}
)

// attempt runs one rung; gozxing errors (not found, checksum, format) all
// mean "not here".
func attempt(img *image.Gray, a Attempt) (text string, ok bool) {
	defer func() {
		// gozxing is third-party code fed hostile pixels: a panic in it
		// is a failed attempt, not a dead terminal.
		if recover() != nil {
			text, ok = "", false
		}
	}()
	switch a {
	case AttemptDownscaled:
		img = Downscale2(img)
	case AttemptDenoised:
		img = boxBlur(img, 2)
	}
	src := luminance(img)
	if a == AttemptInverted {
		src = gozxing.NewInvertedLuminanceSource(src)
	}
	var bin gozxing.Binarizer
	if a == AttemptGlobal {
		bin = gozxing.NewGlobalHistgramBinarizer(src)
	} else {
		bin = gozxing.NewHybridBinarizer(src)
	}
	bmp, err := gozxing.NewBinaryBitmap(bin)
	if err != nil {
		return "", false
	}
	h := hints
	if a == AttemptTryHarder {
		h = hintsTryHarder
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, h)
	if err != nil {
		return "", false
	}
	return res.GetText(), true
}

// luminance wraps a Gray image's pixels as gozxing luminance without a
// copy (the planar YUV source reads the Y plane as is).
func luminance(img *image.Gray) gozxing.LuminanceSource {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	pix := img.Pix
	if img.Stride != w {
		pix = make([]byte, w*h)
		for y := 0; y < h; y++ {
			copy(pix[y*w:(y+1)*w], img.Pix[y*img.Stride:y*img.Stride+w])
		}
	}
	src, err := gozxing.NewPlanarYUVLuminanceSource(pix, w, h, 0, 0, w, h, false)
	if err != nil { // cannot happen: the crop is the whole image
		return gozxing.NewLuminanceSourceFromImage(img)
	}
	return src
}

// Downscale2 halves an image with a 2x2 box filter.
func Downscale2(img *image.Gray) *image.Gray {
	w, h := img.Rect.Dx()/2, img.Rect.Dy()/2
	out := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		r0 := img.Pix[(2*y)*img.Stride:]
		r1 := img.Pix[(2*y+1)*img.Stride:]
		o := out.Pix[y*out.Stride:]
		for x := 0; x < w; x++ {
			o[x] = byte((int(r0[2*x]) + int(r0[2*x+1]) + int(r1[2*x]) + int(r1[2*x+1]) + 2) >> 2)
		}
	}
	return out
}

// boxBlur is a (2r+1)x(2r+1) box blur; at the edges the edge pixels are
// repeated.
func boxBlur(img *image.Gray, r int) *image.Gray {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	clamp := func(v, hi int) int { return min(max(v, 0), hi) }
	tmp := make([]uint32, w*h) // horizontal sums
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+w]
		var s uint32
		for d := -r; d <= r; d++ {
			s += uint32(row[clamp(d, w-1)])
		}
		for x := 0; x < w; x++ {
			tmp[y*w+x] = s
			s += uint32(row[clamp(x+r+1, w-1)]) - uint32(row[clamp(x-r, w-1)])
		}
	}
	out := image.NewGray(image.Rect(0, 0, w, h))
	n := uint32((2*r + 1) * (2*r + 1))
	for x := 0; x < w; x++ {
		var s uint32
		for d := -r; d <= r; d++ {
			s += tmp[clamp(d, h-1)*w+x]
		}
		for y := 0; y < h; y++ {
			out.Pix[y*out.Stride+x] = byte((s + n/2) / n)
			s += tmp[clamp(y+r+1, h-1)*w+x] - tmp[clamp(y-r, h-1)*w+x]
		}
	}
	return out
}
