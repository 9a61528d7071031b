package fn

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestMuxSubtreeRootIsNoRedirectLoop: with only a subtree pattern (the
// gateway's /api/auth/, the web app's /assets/), its root with or without
// the slash reaches the subtree's handler (or the JSON 405), never
// ServeMux's redirect to the slash form, which Mux would trim again.
func TestMuxSubtreeRootIsNoRedirectLoop(t *testing.T) {
	m := NewMux(nil)
	reached := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Path", r.URL.Path)
		w.WriteHeader(http.StatusNoContent)
	}
	m.Handle("/api/auth/", http.HandlerFunc(reached))
	m.Handle("GET /assets/", http.HandlerFunc(reached))
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/api/auth/", 204}, {"POST", "/api/auth", 204}, {"GET", "/api/auth/x/", 204},
		{"GET", "/assets/", 204}, {"GET", "/assets", 204}, {"POST", "/assets/", 405}, {"GET", "/nothing/", 404},
	} {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.want {
			t.Errorf("%s %s: %d (Location %q), want %d", c.method, c.path, rec.Code, rec.Header().Get("Location"), c.want)
		}
		if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d without the JSON body", c.method, c.path, rec.Code)
		}
	}
}
