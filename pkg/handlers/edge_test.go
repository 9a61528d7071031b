package handlers_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/handlers"
)

// everyRoute is each REST route with a concrete path and, for the methods
// that take one, a valid body.
func everyRoute(t *testing.T, taskID, notificationID string) []struct{ method, path, body string } {
	t.Helper()
	var out []struct{ method, path, body string }
	for _, rt := range handlers.Every(nil) {
		path := strings.Replace(rt.Pattern, "{id}", taskID, 1)
		if strings.HasPrefix(rt.Pattern, "/api/notifications/") {
			path = strings.Replace(rt.Pattern, "{id}", notificationID, 1)
		}
		body := ""
		switch {
		case rt.Pattern == "/api/notifications/{id}":
			body = `{"read":true}`
		case rt.Method == "POST" || rt.Method == "PUT" || (rt.Method == "PATCH" && !strings.HasSuffix(rt.Pattern, "/complete")):
			body = `{"title":"t"}`
		}
		if rt.Pattern == "/api/tasks/search" {
			path += "?q=t"
		}
		out = append(out, struct{ method, path, body string }{rt.Method, path, body})
	}
	if len(out) < 10 {
		t.Fatalf("only %d routes", len(out))
	}
	return out
}

// send is do with raw header lines (added, not set, so a name may repeat).
func (a *api) send(method, path, body string, headers ...string) resp {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, a.srv.URL+path, rd)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Add(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// TestTokensTheAPICannotAccept: a token whose sub holds a NUL (PostgreSQL
// cannot store it) answered 503 on every route; it is an authentication
// failure, 401, with the reason. Two Authorization headers are refused too,
// whichever comes first.
func TestTokensTheAPICannotAccept(t *testing.T) {
	a := newAPI(t)
	id := a.create("alice", `{"title":"t"}`)["id"].(string)
	nul, err := auth.Sign([]byte(secret), "ali\x00ce", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	good, bad := token(t, "alice"), token(t, "mallory")
	for _, rt := range everyRoute(t, id, "0193f0c2-0000-7000-8000-000000000009") {
		ct := "Content-Type: application/json"
		r := a.send(rt.method, rt.path, rt.body, ct, "Authorization: Bearer "+nul)
		a.expect(r, 401, "unauthenticated")
		if !strings.Contains(string(r.Body), "sub") {
			t.Errorf("%s %s: 401 without the reason: %s", rt.method, rt.path, r.Body)
		}
		for _, pair := range [][2]string{{good, bad}, {bad, good}, {good, good}} {
			r = a.send(rt.method, rt.path, rt.body, ct, "Authorization: Bearer "+pair[0], "Authorization: Bearer "+pair[1])
			a.expect(r, 401, "unauthenticated")
		}
	}
	if n := a.rows("SELECT count(*) FROM tasks WHERE title = 't' AND version = 1"); n != 1 {
		t.Error("a refused request changed the task")
	}
}
