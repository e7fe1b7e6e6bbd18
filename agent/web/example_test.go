package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"posagent/agent"
	"posagent/agent/web"
)

// engine stands in for *agent.Engine, which has these methods.
type engine struct{}

func (engine) Subscribe(uint64) (<-chan agent.Event, func()) {
	return make(chan agent.Event), func() {}
}
func (engine) Get(string) (agent.Payment, error)            { return agent.Payment{}, agent.ErrNotFound }
func (engine) List(time.Time, int) ([]agent.Payment, error) { return nil, nil }

// The pages mounted beside an API on one mux (cmd/ does this with
// api.Mount{Pattern, Handler, Public: true}).
func ExampleNew() {
	token := "the-api-token-from-the-key-directory"
	pages, err := web.New(web.Options{
		Engine:     engine{},
		Authorize:  func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+token },
		Merchant:   "Corner Shop",
		DisplayKey: []byte(token),
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	for _, p := range web.Patterns {
		mux.Handle(p, pages)
	}
	for _, path := range []string{"/display", "/console", "/display/config"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr, req.Host = "127.0.0.1:50000", "127.0.0.1:8484"
		mux.ServeHTTP(rec, req)
		fmt.Println(path, rec.Code, rec.Header().Get("Content-Type"))
	}
	// Output:
	// /display 200 text/html; charset=utf-8
	// /console 200 text/html; charset=utf-8
	// /display/config 200 application/json
}
