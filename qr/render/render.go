// Package render draws payment QR codes for a display: PNG and SVG images
// and a terminal rendering, all from the module bitmap that
// github.com/skip2/go-qrcode computes, and an http.Handler that serves a
// payment's code as PNG for a customer display (GET
// /v1/payments/{id}/qr.png).
package render

import (
	"fmt"
	"io"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// Level is the error correction used for payment codes: Medium (15 %), as
// EMVCo payment codes commonly use; it keeps a 300-character payload at
// version 10 or below, readable on a phone screen.
const Level = qrcode.Medium

// Code is an encoded QR symbol.
type Code struct{ q *qrcode.QRCode }

// New encodes text as a QR code.
func New(text string) (*Code, error) {
	q, err := qrcode.New(text, Level)
	if err != nil {
		return nil, fmt.Errorf("render: encoding QR: %w", err)
	}
	return &Code{q: q}, nil
}

// Bitmap returns the modules, true = dark, with the 4-module quiet zone.
func (c *Code) Bitmap() [][]bool { return c.q.Bitmap() }

// Version is the QR version (1-40) go-qrcode chose.
func (c *Code) Version() int { return c.q.VersionNumber }

// PNG renders the code at size x size pixels (size < 0: -size pixels per
// module).
func (c *Code) PNG(size int) ([]byte, error) { return c.q.PNG(size) }

// SVG writes the code as an SVG image, one path of unit squares (one module
// = one user unit, so any size scales without blur); px is the width and
// height attribute.
func (c *Code) SVG(w io.Writer, px int) error {
	bm := c.q.Bitmap()
	n := len(bm)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, px, px, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bm {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>` + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Terminal writes the code with Unicode half blocks, two modules per
// character cell (dark modules as the terminal's background colour when
// inverse is false: right for a dark-on-light terminal).
func (c *Code) Terminal(w io.Writer, inverse bool) error {
	_, err := io.WriteString(w, c.q.ToSmallString(inverse))
	return err
}
