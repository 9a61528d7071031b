package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/taskflow/taskflow/pkg/handlers"
)

// upstreams starts one fake function per name that echoes its name and path.
func upstreams(t *testing.T) ([]string, map[string]*httptest.Server) {
	var list []string
	servers := map[string]*httptest.Server{}
	for name := range handlers.Functions {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/readyz" {
				return
			}
			_, _ = io.WriteString(w, name+" "+r.Method+" "+r.URL.Path)
		}))
		t.Cleanup(srv.Close)
		servers[name] = srv
		list = append(list, name+"="+srv.URL)
	}
	return list, servers
}

func TestRoutesEveryPathToItsFunction(t *testing.T) {
	list, servers := upstreams(t)
	g, err := New(list, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(g)
	defer front.Close()
	cases := map[string]string{
		"POST /api/tasks":                   "create",
		"GET /api/tasks":                    "list",
		"GET /api/tasks/filter":             "list",
		"GET /api/tasks/search":             "search",
		"GET /api/tasks/x":                  "get",
		"PUT /api/tasks/x":                  "update",
		"PATCH /api/tasks/x":                "update",
		"DELETE /api/tasks/x":               "delete",
		"PATCH /api/tasks/x/complete":       "complete",
		"GET /api/tags":                     "tags",
		"GET /api/alice/tasks/x":            "get",
		"PATCH /api/alice/tasks/x/complete": "complete",
	}
	for req, want := range cases {
		method, path, _ := strings.Cut(req, " ")
		r, _ := http.NewRequest(method, front.URL+path, nil)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if got := string(b); got != want+" "+method+" "+path {
			t.Errorf("%s went to %q, want %s with the path unchanged", req, got, want)
		}
	}
	for req, status := range map[string]int{"GET /api/nope": 404, "POST /api/tasks/x": 405} {
		method, path, _ := strings.Cut(req, " ")
		r, _ := http.NewRequest(method, front.URL+path, nil)
		res, _ := http.DefaultClient.Do(r)
		var body map[string]map[string]string
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != status || body["error"]["code"] == "" {
			t.Errorf("%s: %d %v", req, res.StatusCode, body)
		}
	}
	// The OpenAPI document is the gateway's own, served without a token.
	res, err := http.Get(front.URL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	_ = json.NewDecoder(res.Body).Decode(&doc)
	res.Body.Close()
	if res.StatusCode != 200 || doc["openapi"] != "3.1.0" || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("openapi.json: %d %v", res.StatusCode, doc["openapi"])
	}
	if err := g.Ready(context.Background()); err != nil {
		t.Errorf("ready with every function up: %v", err)
	}
	servers["search"].Close()
	if err := g.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "search") {
		t.Errorf("ready with search down: %v", err)
	}
	r, _ := http.NewRequest("GET", front.URL+"/api/tasks/search?q=x", nil)
	res, _ = http.DefaultClient.Do(r)
	res.Body.Close()
	if res.StatusCode != 503 {
		t.Errorf("a down function answered %d, want 503", res.StatusCode)
	}
}

func TestNewRefusesMissingUpstream(t *testing.T) {
	if _, err := New([]string{"create=http://127.0.0.1:1"}, slog.Default()); err == nil {
		t.Error("gateway started without every function")
	}
	if _, err := New([]string{"create"}, slog.Default()); err == nil {
		t.Error("malformed upstream accepted")
	}
}

// TestAccountsPrefix: every path under /api/auth/ goes to the accounts
// function unchanged (query included), and without an accounts upstream
// the gateway answers 404 itself.
func TestAccountsPrefix(t *testing.T) {
	list, _ := upstreams(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	accounts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "accounts "+r.Method+" "+r.URL.RequestURI())
	}))
	defer accounts.Close()
	without, err := New(list, log)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(append(list, AccountsFunction+"="+accounts.URL), log)
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []string{"POST /api/auth/sign-in/email", "GET /api/auth/get-session?disableCookieCache=true", "GET /api/auth/jwks"} {
		method, path, _ := strings.Cut(req, " ")
		w := httptest.NewRecorder()
		g.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		if w.Code != 200 || w.Body.String() != "accounts "+req {
			t.Errorf("%s: %d %q", req, w.Code, w.Body)
		}
		w = httptest.NewRecorder()
		without.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		if w.Code != 404 {
			t.Errorf("%s without accounts: %d", req, w.Code)
		}
	}
}
