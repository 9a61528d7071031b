package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRoutesTheWebAppWhenItHasAnUpstream(t *testing.T) {
	list, _ := upstreams(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	without, err := New(list, log)
	if err != nil {
		t.Fatal(err)
	}
	webApp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "web "+r.URL.RequestURI())
	}))
	defer webApp.Close()
	with, err := New(append(list, "web="+webApp.URL), log)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/": "web /", "/?status=active&q=x": "web /?status=active&q=x",
		"/assets/v1/js/app.js": "web /assets/v1/js/app.js"} {
		res := httptest.NewRecorder()
		with.ServeHTTP(res, httptest.NewRequest("GET", path, nil))
		if res.Code != 200 || res.Body.String() != want {
			t.Errorf("GET %s: %d %q, want %q", path, res.Code, res.Body.String(), want)
		}
		res = httptest.NewRecorder()
		without.ServeHTTP(res, httptest.NewRequest("GET", path, nil))
		if res.Code != 404 {
			t.Errorf("GET %s without a web upstream: %d", path, res.Code)
		}
	}
	res := httptest.NewRecorder()
	with.ServeHTTP(res, httptest.NewRequest("POST", "/", nil))
	if res.Code != 405 {
		t.Errorf("POST /: %d", res.Code)
	}
	webApp.Close()
	res = httptest.NewRecorder()
	with.ServeHTTP(res, httptest.NewRequest("GET", "/", nil))
	if res.Code != 503 {
		t.Errorf("web down: %d, want 503", res.Code)
	}
}
