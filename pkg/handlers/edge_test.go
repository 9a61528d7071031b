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
		if rt.Public {
			continue // takes no credentials (the calendar feed): calendar_test.go
		}
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

// fields returns the field errors of a 400.
func fields(t *testing.T, r resp) map[string]any {
	t.Helper()
	f, _ := r.json(t)["error"].(map[string]any)["fields"].(map[string]any)
	return f
}

// TestHostileTextIsRefusedAtTheEdge: NUL and invalid UTF-8 in the query, in
// the headers handlers read and in JSON bodies are a 400 naming the field;
// PostgreSQL would refuse the bytes, which the store answers with 503.
func TestHostileTextIsRefusedAtTheEdge(t *testing.T) {
	a := newAPI(t)
	id := a.create("alice", `{"title":"t","tags":["a"]}`)["id"].(string)
	cases := []struct {
		method, path, body, field string
		headers                   []string
	}{
		{"GET", "/api/tasks?tags=%00", "", "tags", nil},
		{"GET", "/api/tasks?tags=a%00b", "", "tags", nil},
		{"GET", "/api/tasks?tags=a%FFb", "", "tags", nil},
		{"GET", "/api/tasks/filter?tags=%00&tag_mode=all", "", "tags", nil},
		{"GET", "/api/tasks/search?q=t&tags=%00", "", "tags", nil},
		{"GET", "/api/tasks/search?q=t%00x", "", "q", nil},
		{"GET", "/api/notifications?cursor=%00", "", "cursor", nil},
		{"POST", "/api/tasks", `{"title":"t"}`, "Idempotency-Key", []string{"Idempotency-Key: k\xffk"}},
		{"PATCH", "/api/tasks/" + id, `{"title":"t2"}`, "If-Match", []string{"If-Match: \"v1\xff\""}},
		{"POST", "/api/tasks", `{"title":"t"}`, "Idempotency-Key", []string{"Idempotency-Key: one", "Idempotency-Key: two"}},
		{"POST", "/api/tasks", `{"title":"a\u0000b"}`, "title", nil},
		{"POST", "/api/tasks", "{\"title\":\"a\xffb\"}", "title", nil},
		{"POST", "/api/tasks", `{"title":"t","description":"x\u0000"}`, "description", nil},
		{"POST", "/api/tasks", "{\"title\":\"t\",\"tags\":[\"ok\",\"\xc3\"]}", "tags", nil},
		{"POST", "/api/tasks", `{"title":"t","due_date":"2027-01-01T00:00:00Z","recurrence_pattern":{"frequency":"daily","timezone":"UTC\u0000"}}`, "recurrence_pattern.timezone", nil},
		{"PUT", "/api/tasks/" + id, "{\"title\":\"\xff\"}", "title", nil},
		{"PATCH", "/api/tasks/" + id, `{"description":"\u0000"}`, "description", nil},
	}
	for _, c := range cases {
		r := a.do(c.method, c.path, "alice", c.body, c.headers...)
		a.expect(r, 400, "invalid_request")
		if fields(t, r)[c.field] == nil {
			t.Errorf("%s %s %q: no error for %s: %s", c.method, c.path, c.body, c.field, r.Body)
		}
	}
	if n := a.rows("SELECT count(*) FROM tasks"); n != 1 {
		t.Errorf("%d tasks, want 1", n)
	}
	if n := a.rows("SELECT count(*) FROM tasks WHERE version = 1"); n != 1 {
		t.Error("a refused request changed the task")
	}
	// A malformed query string is refused, not half ignored.
	a.expect(a.do("GET", "/api/tasks?tags=%zz", "alice", ""), 400, "invalid_request")
	a.expect(a.do("GET", "/api/tasks?tags=a;b", "alice", ""), 400, "invalid_request")
}

// TestDuplicateKeysAreRefused: encoding/json keeps the last of two keys;
// every JSON body refuses a key given twice, nested ones too, by its path.
func TestDuplicateKeysAreRefused(t *testing.T) {
	a := newAPI(t)
	id := a.create("alice", `{"title":"t"}`)["id"].(string)
	cases := []struct{ method, path, body, field string }{
		{"POST", "/api/tasks", `{"title":"one","title":"two"}`, "title"},
		{"PUT", "/api/tasks/" + id, `{"title":"one","priority":"low","priority":"high"}`, "priority"},
		{"PATCH", "/api/tasks/" + id, `{"title":"one","title":"two"}`, "title"},
		{"POST", "/api/tasks", `{"title":"x","due_date":"2027-01-01T00:00:00Z","recurrence_pattern":{"frequency":"daily","timezone":"UTC","timezone":"Europe/Berlin"}}`, "recurrence_pattern.timezone"},
	}
	for _, c := range cases {
		r := a.do(c.method, c.path, "alice", c.body)
		a.expect(r, 400, "invalid_request")
		if fields(t, r)[c.field] == nil {
			t.Errorf("%s %s %s: no error for %s: %s", c.method, c.path, c.body, c.field, r.Body)
		}
	}
	if n := a.rows("SELECT count(*) FROM tasks WHERE title = 't' AND version = 1"); n != 1 {
		t.Error("a body with a duplicate key changed the task")
	}
	if n := a.rows("SELECT count(*) FROM tasks"); n != 1 {
		t.Error("a body with a duplicate key created a task")
	}
}

// TestBodiesMustBeDeclaredJSON: POST, PUT and PATCH bodies without a
// Content-Type are refused with 415, as with a wrong one.
func TestBodiesMustBeDeclaredJSON(t *testing.T) {
	a := newAPI(t)
	id := a.create("alice", `{"title":"t"}`)["id"].(string)
	tok := "Authorization: Bearer " + token(t, "alice")
	for _, c := range [][3]string{
		{"POST", "/api/tasks", `{"title":"x"}`},
		{"PUT", "/api/tasks/" + id, `{"title":"x"}`},
		{"PATCH", "/api/tasks/" + id, `{"title":"x"}`},
		{"PATCH", "/api/notifications/0193f0c2-0000-7000-8000-000000000009", `{"read":true}`},
	} {
		a.expect(a.send(c[0], c[1], c[2], tok), 415, "unsupported_media_type")
		a.expect(a.send(c[0], c[1], c[2], tok, "Content-Type: text/plain"), 415, "unsupported_media_type")
	}
	if n := a.rows("SELECT count(*) FROM tasks WHERE title = 't' AND version = 1"); n != 1 {
		t.Error("a body without Content-Type changed the task")
	}
	a.expect(a.send("PATCH", "/api/tasks/"+id+"/complete", "", tok), 200, "")
}

// TestUnknownQueryParametersAreRefused: every route refuses a query
// parameter it does not take (it answered 200 and ignored it), naming it.
func TestUnknownQueryParametersAreRefused(t *testing.T) {
	a := newAPI(t)
	id := a.create("alice", `{"title":"t"}`)["id"].(string)
	for _, rt := range everyRoute(t, id, "0193f0c2-0000-7000-8000-000000000009") {
		sep := "?"
		if strings.Contains(rt.path, "?") {
			sep = "&"
		}
		r := a.do(rt.method, rt.path+sep+"foo=1", "alice", rt.body)
		a.expect(r, 400, "invalid_request")
		if fields(t, r)["foo"] == nil {
			t.Errorf("%s %s?foo=1: %s", rt.method, rt.path, r.Body)
		}
	}
	if n := a.rows("SELECT count(*) FROM tasks WHERE title = 't' AND version = 1"); n != 1 {
		t.Error("a refused request changed the task")
	}
	a.expect(a.do("GET", "/api/tasks/"+id+"?", "alice", ""), 200, "")
}
