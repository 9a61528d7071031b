package accounts

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

// TestSessionCookieOnAPIRoutes: a browser's session cookie authenticates
// TaskFlow's own API routes (through pkg/fn, as every function serves them),
// a change made with it must come from TaskFlow's origin, and a tampered or
// expired cookie is a 401.
func TestSessionCookieOnAPIRoutes(t *testing.T) {
	e := newEnv(t)
	up := e.signUp("ada@example.com", goodPassword)
	cookie := up.cookie()
	userID := up.json(t)["user"].(map[string]any)["id"].(string)
	cfg := testConfig().Auth.Config
	v, err := auth.NewVerifier(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := &fn.Deps{Store: e.st, Log: e.svc.log, Now: e.clock.now}
	routes := append(handlers.Create(d), handlers.List(d)...)
	api := fn.APIWith(&fn.Authenticator{Tokens: v, Sessions: e.st, Config: cfg, Now: e.clock.now}, e.svc.log, routes)
	call := func(method, cookie, origin string) *httptest.ResponseRecorder {
		var body *strings.Reader
		if method == "POST" {
			body = strings.NewReader(`{"title":"from the browser"}`)
		} else {
			body = strings.NewReader("")
		}
		r := httptest.NewRequest(method, "http://taskflow.test/api/tasks", body)
		r.Header.Set("Content-Type", "application/json")
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: cookie})
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		return w
	}
	if w := call("POST", cookie, "https://evil.example"); w.Code != 403 {
		t.Fatalf("cookie POST from another origin: %d %s", w.Code, w.Body)
	}
	if w := call("POST", cookie, ""); w.Code != 403 {
		t.Fatalf("cookie POST without Origin: %d %s", w.Code, w.Body)
	}
	if n := count(t, e.url, `SELECT count(*) FROM tasks`); n != 0 {
		t.Fatalf("a refused change stored %d tasks", n)
	}
	if w := call("POST", cookie, testOrigin); w.Code != 201 || !strings.Contains(w.Body.String(), "from the browser") {
		t.Fatalf("cookie POST from TaskFlow's origin: %d %s", w.Code, w.Body)
	}
	if n := count(t, e.url, `SELECT count(*) FROM tasks WHERE user_id = $1`, userID); n != 1 {
		t.Fatalf("the session's user has %d tasks", n)
	}
	if w := call("GET", cookie, ""); w.Code != 200 || !strings.Contains(w.Body.String(), "from the browser") {
		t.Fatalf("cookie GET: %d %s", w.Code, w.Body)
	}

	// Tampered: another token under the old signature, or a flipped signature.
	raw, _ := url.QueryUnescape(cookie)
	tok, sig, _ := strings.Cut(raw, ".")
	for _, bad := range []string{
		url.QueryEscape("X" + tok[1:] + "." + sig),
		url.QueryEscape(tok + "." + strings.ToUpper(sig[:4]) + sig[4:] + "x"),
		auth.SignSessionToken([]byte("another deployment's secret, 32+ bytes"), tok),
	} {
		if w := call("GET", bad, ""); w.Code != 401 {
			t.Errorf("tampered cookie %q: %d %s", bad, w.Code, w.Body)
		}
	}
	// Signed right, but no session has it (never issued).
	if w := call("GET", auth.SignSessionToken([]byte(testSecret), "never-issued-token"), ""); w.Code != 401 {
		t.Errorf("unknown session: %d %s", w.Code, w.Body)
	}
	// A bearer token still needs no Origin.
	hs, _ := auth.Sign([]byte(testSecret), "bearer-user", time.Now(), time.Hour) // the verifier checks exp by the real clock
	r := httptest.NewRequest("POST", "http://taskflow.test/api/tasks", strings.NewReader(`{"title":"api"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+hs)
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	if w.Code != 201 {
		t.Fatalf("bearer POST without Origin: %d %s", w.Code, w.Body)
	}
	// Expired: a week and a second later the same cookie no longer counts.
	e.clock.add(7*24*time.Hour + time.Second)
	if w := call("GET", cookie, ""); w.Code != 401 {
		t.Fatalf("expired session: %d %s", w.Code, w.Body)
	}
}
