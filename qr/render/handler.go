package render

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// ErrNoCode is what a PayloadFunc returns when the payment has no
// merchant-presented code (unknown, not a QR payment, already final); the
// handler answers 404.
var ErrNoCode = errors.New("render: payment has no QR code")

// PayloadFunc returns the merchant-presented payload of a payment.
type PayloadFunc func(ctx context.Context, paymentID string) (string, error)

// DefaultSize and MaxSize bound the ?size= (pixels) of a served PNG.
const (
	DefaultSize = 320
	MinSize     = 64
	MaxSize     = 1024
)

// Handler serves the PNG of a payment's code. The payment ID is the {id}
// path value (mount it as "GET /v1/payments/{id}/qr.png"). Errors are JSON
// {"code","message"} as the local API's are; the response is never cached.
func Handler(payload PayloadFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if id == "" {
			writeError(w, http.StatusBadRequest, "bad_request", "no payment id in path")
			return
		}
		size := DefaultSize
		if s := r.URL.Query().Get("size"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < MinSize || n > MaxSize {
				writeError(w, http.StatusBadRequest, "bad_request", "size must be 64..1024 pixels")
				return
			}
			size = n
		}
		text, err := payload(r.Context(), id)
		if errors.Is(err, ErrNoCode) {
			writeError(w, http.StatusNotFound, "not_found", "payment has no QR code")
			return
		}
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal", "cannot get the payment's code")
			return
		}
		c, err := New(text)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal", err.Error())
			return
		}
		png, err := c.PNG(size)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal", err.Error())
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Length", strconv.Itoa(len(png)))
		w.Write(png)
	})
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}
