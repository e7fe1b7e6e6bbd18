package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// QRFromAPI returns a QRFunc that asks a handler in process, with the API
// token, for GET /v1/payments/{id}/qr.png, so the display shows exactly the
// code the API serves. The handler is the API server, or the qr.png
// handler itself (the {id} path value is set for a handler outside a mux).
func QRFromAPI(api http.Handler, token func() string) QRFunc {
	return func(ctx context.Context, id string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/v1/payments/"+url.PathEscape(id)+"/qr.png", nil)
		if err != nil {
			return nil, err
		}
		req.SetPathValue("id", id)
		req.RemoteAddr = "127.0.0.1:0"
		req.Host = "127.0.0.1"
		req.Header.Set("Authorization", "Bearer "+token())
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		api.ServeHTTP(rec, req)
		if rec.status != http.StatusOK {
			return nil, fmt.Errorf("web: qr.png of %q: HTTP %d", id, rec.status)
		}
		return rec.body.Bytes(), nil
	}
}

// recorder is the smallest http.ResponseWriter that keeps a PNG.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	if r.body.Len()+len(b) > 4<<20 {
		return 0, fmt.Errorf("web: qr.png larger than 4 MiB")
	}
	return r.body.Write(b)
}
