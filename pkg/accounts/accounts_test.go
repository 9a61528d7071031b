package accounts

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

const (
	testSecret = "0123456789abcdef0123456789abcdef-test"
	testOrigin = "http://taskflow.test"
)

// clock is a settable time for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer collects log lines from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type env struct {
	t     *testing.T
	st    *store.Store
	url   string
	svc   *service
	h     http.Handler
	clock *clock
	logs  *syncBuffer
}

func testConfig() *Config {
	cfg := &Config{SessionTTL: 7 * 24 * time.Hour, TokenTTL: 15 * time.Minute, KeyRotation: 30 * 24 * time.Hour,
		AccountLimit: 5, AddressLimit: 8, SignUpLimit: 6, LimitWindow: 15 * time.Minute, ProxyHops: 1,
		// Cheap hashes keep the suite fast; BenchmarkSignIn measures the defaults.
		HashMemoryKiB: 1024, HashIterations: 1}
	cfg.Secret = testSecret
	cfg.BaseURL = testOrigin
	return cfg
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, url := storetest.New(t)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := &clock{t: time.Now().UTC().Truncate(time.Second)} // tokens are checked by verifiers on the real clock
	svc, err := newService(testConfig(), &fn.Deps{Store: st, Log: log, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	m := fn.NewMux(log)
	for p, h := range svc.handlers() {
		m.Handle(p, h)
	}
	return &env{t: t, st: st, url: url, svc: svc, h: m, clock: c, logs: logs}
}

type resp struct {
	code   int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return m
}

// cookie is the session cookie the answer set ("" when none).
func (r resp) cookie() string {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == auth.SessionCookie {
			return c.Value
		}
	}
	return ""
}

type req struct {
	method, path, body, cookie, origin, xff string
	header                                  map[string]string
}

func (e *env) do(q req) resp {
	e.t.Helper()
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	r := httptest.NewRequest(q.method, "http://taskflow.test"+q.path, body)
	if q.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if q.cookie != "" {
		r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: q.cookie, Quoted: false})
	}
	if q.origin != "" {
		r.Header.Set("Origin", q.origin)
	}
	if q.xff != "" {
		r.Header.Set("X-Forwarded-For", q.xff)
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return resp{w.Code, w.Header(), w.Body.Bytes()}
}

func (e *env) signUp(email, password string) resp {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/api/auth/sign-up/email",
		body: `{"name":"Ada","email":"` + email + `","password":"` + password + `"}`})
}

func (e *env) signIn(email, password, xff string) resp {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/api/auth/sign-in/email", xff: xff,
		body: `{"email":"` + email + `","password":"` + password + `"}`})
}

const goodPassword = "correct horse battery"

func TestSignUpSignInSessionSignOut(t *testing.T) {
	e := newEnv(t)
	up := e.signUp("Ada@Example.com", goodPassword)
	if up.code != 200 {
		t.Fatalf("sign-up: %d %s", up.code, up.body)
	}
	body := up.json(t)
	user := body["user"].(map[string]any)
	if user["email"] != "ada@example.com" || user["name"] != "Ada" || user["emailVerified"] != false || body["token"] == "" {
		t.Fatalf("sign-up body %s", up.body)
	}
	set := up.header.Get("Set-Cookie")
	for _, want := range []string{auth.SessionCookie + "=", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %q", set, want)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Errorf("Set-Cookie over plain HTTP is Secure: %q", set)
	}
	// The cookie is Better Auth's signed value: token.base64(HMAC), URL-encoded.
	if tok, _, ok := auth.SessionToken(httptest.NewRequest("GET", "/", nil), nil); ok || tok != "" {
		t.Fatal("a request without a cookie has a session token")
	}
	if n := count(t, e.url, `SELECT count(*) FROM sessions WHERE token_hash = $1`, auth.HashSessionToken(body["token"].(string))); n != 1 {
		t.Fatalf("sessions with the token's hash: %d", n)
	}
	if n := count(t, e.url, `SELECT count(*) FROM users WHERE password_hash LIKE '$argon2id$%' AND password_hash NOT LIKE '%'||$1||'%'`, goodPassword); n != 1 {
		t.Fatalf("users with an argon2id hash: %d", n)
	}

	gs := e.do(req{method: "GET", path: "/api/auth/get-session", cookie: up.cookie()})
	sess := gs.json(t)
	if gs.code != 200 || sess["user"].(map[string]any)["id"] != user["id"] || sess["session"].(map[string]any)["userId"] != user["id"] {
		t.Fatalf("get-session: %d %s", gs.code, gs.body)
	}
	if gs.header.Get("set-auth-jwt") == "" {
		t.Error("get-session sent no set-auth-jwt")
	}

	in := e.signIn("ada@example.com", goodPassword, "")
	if in.code != 200 || in.cookie() == "" || in.json(t)["user"].(map[string]any)["id"] != user["id"] {
		t.Fatalf("sign-in: %d %s", in.code, in.body)
	}
	out := e.do(req{method: "POST", path: "/api/auth/sign-out", cookie: in.cookie(), origin: testOrigin, body: "{}"})
	if out.code != 200 || !strings.Contains(out.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("sign-out: %d %s %v", out.code, out.body, out.header)
	}
	if gs := e.do(req{method: "GET", path: "/api/auth/get-session", cookie: in.cookie()}); gs.code != 200 || string(bytes.TrimSpace(gs.body)) != "null" {
		t.Fatalf("get-session after sign-out: %d %s", gs.code, gs.body)
	}
	// The sign-up session is another session: still signed in.
	if gs := e.do(req{method: "GET", path: "/api/auth/get-session", cookie: up.cookie()}); string(bytes.TrimSpace(gs.body)) == "null" {
		t.Fatal("sign-out ended the other session too")
	}
}

func TestSignUpRefusals(t *testing.T) {
	e := newEnv(t)
	if r := e.signUp("ada@example.com", goodPassword); r.code != 200 {
		t.Fatalf("sign-up: %d %s", r.code, r.body)
	}
	for _, c := range []struct {
		email, password string
		code            int
		errCode         string
	}{
		{"ADA@example.com", "another good one", 422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"},
		{"bob@example.com", "short", 400, "PASSWORD_TOO_SHORT"},
		{"bob@example.com", "password1", 400, "PASSWORD_COMPROMISED"},
		{"bob@example.com", "Iloveyou", 400, "PASSWORD_COMPROMISED"},
		{"not an email", goodPassword, 400, "INVALID_EMAIL"},
	} {
		r := e.signUp(c.email, c.password)
		if r.code != c.code || r.json(t)["code"] != c.errCode || r.json(t)["message"] == "" || r.cookie() != "" {
			t.Errorf("sign-up %s/%s: %d %s, want %d %s", c.email, c.password, r.code, r.body, c.code, c.errCode)
		}
	}
	if n := count(t, e.url, `SELECT count(*) FROM users`); n != 1 {
		t.Fatalf("users: %d", n)
	}
}

func TestWrongPasswordAndUnknownEmailAnswerAlike(t *testing.T) {
	e := newEnv(t)
	e.signUp("ada@example.com", goodPassword)
	wrong := e.signIn("ada@example.com", "not the password", "")
	unknown := e.signIn("nobody@example.com", "not the password", "")
	if wrong.code != 401 || wrong.json(t)["code"] != "INVALID_EMAIL_OR_PASSWORD" {
		t.Fatalf("wrong password: %d %s", wrong.code, wrong.body)
	}
	if unknown.code != wrong.code || !bytes.Equal(unknown.body, wrong.body) {
		t.Fatalf("unknown email %d %q, wrong password %d %q", unknown.code, unknown.body, wrong.code, wrong.body)
	}
	if len(unknown.header) != len(wrong.header) || unknown.cookie() != "" || wrong.cookie() != "" {
		t.Fatalf("headers differ: %v vs %v", unknown.header, wrong.header)
	}
}

func TestPasswordNeverLoggedNorShown(t *testing.T) {
	e := newEnv(t)
	const secret = "SuperSecretPassw0rd!x"
	e.signUp("ada@example.com", secret)
	var bodies [][]byte
	bodies = append(bodies, e.signIn("ada@example.com", secret+"wrong", "").body)
	bodies = append(bodies, e.signIn("nobody@example.com", secret, "").body)
	bodies = append(bodies, e.signUp("ada@example.com", secret).body)
	in := e.signIn("ada@example.com", secret, "")
	bodies = append(bodies, in.body)
	bodies = append(bodies, e.do(req{method: "POST", path: "/api/auth/change-password", cookie: in.cookie(), origin: testOrigin,
		body: `{"currentPassword":"` + secret + `x","newPassword":"` + secret + `2"}`}).body)
	// The database going away mid-request: a logged 500/503 must not carry it either.
	e.st.Close()
	bodies = append(bodies, e.signIn("ada@example.com", secret, "").body)
	for _, b := range bodies {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("a body shows the password: %s", b)
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, secret) || logs == "" {
		t.Errorf("logs (empty or with the password): %s", logs)
	}
}

// count runs a counting query on the test database directly, to assert rows.
func count(t *testing.T, url, sql string, args ...any) int64 {
	t.Helper()
	return storetest.Count(t, url, sql, args...)
}

// TestSignUpNameValidated: a name of more than 255 characters, or with a
// control character (a NUL among them), is Better Auth's validation error
// like the other fields' problems, and makes no account; 255 characters of
// any script are fine.
func TestSignUpNameValidated(t *testing.T) {
	e := newEnv(t)
	signUp := func(name, email string, image *string) resp {
		b, _ := json.Marshal(map[string]any{"name": name, "email": email, "password": goodPassword, "image": image})
		return e.do(req{method: "POST", path: "/api/auth/sign-up/email", body: string(b)})
	}
	for name, n := range map[string]string{
		"too long":   strings.Repeat("a", 256),
		"NUL":        "Ada\x00Lovelace",
		"newline":    "Ada\nLovelace",
		"escape":     "Ada\x1b[31m",
		"C1 control": "Ada\u0085",
	} {
		r := signUp(n, "ada@example.com", nil)
		if r.code != 400 || r.json(t)["code"] != "VALIDATION_ERROR" || r.cookie() != "" {
			t.Errorf("%s: %d %s", name, r.code, r.body)
		}
	}
	img := "https://example.com/\x00.png"
	if r := signUp("Ada", "ada@example.com", &img); r.code != 400 || r.json(t)["code"] != "VALIDATION_ERROR" {
		t.Errorf("image with a NUL: %d %s", r.code, r.body)
	}
	if n := count(t, e.url, `SELECT count(*) FROM users`); n != 0 {
		t.Fatalf("%d accounts made by refused sign-ups", n)
	}
	long := strings.Repeat("é", 255)
	if r := signUp(long, "ada@example.com", nil); r.code != 200 || r.json(t)["user"].(map[string]any)["name"] != long {
		t.Fatalf("255 characters: %d %s", r.code, r.body)
	}
}
