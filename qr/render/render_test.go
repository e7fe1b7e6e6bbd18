package render

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"posagent/qr"
)

// decode reads a QR code from an image with gozxing (an independent decoder).
func decode(t *testing.T, img image.Image) string {
	t.Helper()
	src := gozxing.NewLuminanceSourceFromImage(img)
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_CHARACTER_SET: "UTF-8"})
	if err != nil {
		t.Fatalf("gozxing cannot read the code: %v", err)
	}
	return res.GetText()
}

func payload(t *testing.T) string {
	t.Helper()
	s, err := qr.DynamicPayload(qr.Merchant{
		Accounts: []qr.Field{{ID: "26", Sub: []qr.Field{{ID: "00", Value: "com.posagent.acq"}, {ID: "01", Value: "M0001"}}}},
		MCC:      "5812", Country: "VN", Name: "PHO 24", City: "HA NOI", Language: "VI", NameAlt: "Phở 24", CityAlt: "Hà Nội",
	}, qr.Charge{Amount: 150000, Currency: "VND", Reference: "ORDER-42", Terminal: "T1"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPNGDecodes(t *testing.T) {
	text := payload(t)
	c, err := New(text)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.PNG(300)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 300 {
		t.Fatalf("width %d", img.Bounds().Dx())
	}
	if got := decode(t, img); got != text {
		t.Fatalf("decoded %q, want %q", got, text)
	}
}

// TestSVG: well-formed XML whose path, drawn back, is the bitmap and reads
// as the same code.
func TestSVG(t *testing.T) {
	text := payload(t)
	c, _ := New(text)
	var buf bytes.Buffer
	if err := c.SVG(&buf, 256); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ViewBox string `xml:"viewBox,attr"`
		Path    struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	bm := c.Bitmap()
	n := len(bm)
	if doc.ViewBox != fmt.Sprintf("0 0 %d %d", n, n) {
		t.Fatalf("viewBox %q for %d modules", doc.ViewBox, n)
	}
	// Rasterise the path: each "Mx yhNv1h-Nz" is a run of N dark modules.
	const scale = 6
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	got := make([][]bool, n)
	for i := range got {
		got[i] = make([]bool, n)
	}
	for _, cmd := range strings.Split(strings.TrimSuffix(doc.Path.D, "z"), "z") {
		var x, y, run, back int
		if _, err := fmt.Sscanf(cmd, "M%d %dh%dv1h-%d", &x, &y, &run, &back); err != nil || run != back {
			t.Fatalf("path command %q: %v", cmd, err)
		}
		for i := x; i < x+run; i++ {
			got[y][i] = true
			for py := y * scale; py < (y+1)*scale; py++ {
				for px := i * scale; px < (i+1)*scale; px++ {
					img.SetGray(px, py, color.Gray{})
				}
			}
		}
	}
	for y := range bm {
		for x := range bm[y] {
			if bm[y][x] != got[y][x] {
				t.Fatalf("module %d,%d differs", x, y)
			}
		}
	}
	if s := decode(t, img); s != text {
		t.Fatalf("SVG decodes to %q", s)
	}
}

func TestTerminal(t *testing.T) {
	c, _ := New("hello")
	var buf bytes.Buffer
	if err := c.Terminal(&buf, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	n := len(c.Bitmap())
	if len(lines) != (n+1)/2 {
		t.Fatalf("%d lines for %d modules", len(lines), n)
	}
	if !strings.ContainsAny(buf.String(), "▀▄█") {
		t.Fatal("no half blocks")
	}
}

func TestHandler(t *testing.T) {
	text := payload(t)
	mux := http.NewServeMux()
	mux.Handle("GET /v1/payments/{id}/qr.png", Handler(func(ctx context.Context, id string) (string, error) {
		switch id {
		case "p1":
			return text, nil
		case "boom":
			return "", io.ErrUnexpectedEOF
		}
		return "", ErrNoCode
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/v1/payments/p1/qr.png?size=400")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
	}
	img, err := png.Decode(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 400 {
		t.Fatalf("size %d", img.Bounds().Dx())
	}
	if got := decode(t, img); got != text {
		t.Fatalf("served code reads %q", got)
	}
	for _, c := range []struct {
		path   string
		status int
		code   string
	}{
		{"/v1/payments/nope/qr.png", 404, "not_found"},
		{"/v1/payments/boom/qr.png", 500, "internal"},
		{"/v1/payments/p1/qr.png?size=5000", 400, "bad_request"},
		{"/v1/payments/p1/qr.png?size=abc", 400, "bad_request"},
	} {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Code, Message string }
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != c.status || e.Code != c.code {
			t.Errorf("%s: %d %q, want %d %q", c.path, resp.StatusCode, e.Code, c.status, c.code)
		}
	}
}

func ExampleCode_SVG() {
	c, _ := New("00020101021226160004TEST01041234")
	var b strings.Builder
	c.SVG(&b, 200)
	fmt.Println(strings.HasPrefix(b.String(), "<svg"), c.Version())
	// Output: true 2
}
