package handlers_test

import (
	"strings"
	"testing"
)

func TestCRUDLifecycle(t *testing.T) {
	a := newAPI(t)
	c := a.create("alice", `{"title":"Weekly review","priority":"high","tags":["work"],"due_date":"2027-03-01T09:00:00Z"}`)
	id := c["id"].(string)
	if c["status"] != "active" || c["series_id"] != nil || c["completed_at"] != nil {
		t.Errorf("created: %v", c)
	}
	r := a.do("GET", "/api/tasks/"+id, "alice", "")
	a.expect(r, 200, "")
	if r.json(t)["title"] != "Weekly review" || r.Header.Get("ETag") != `"v1"` {
		t.Errorf("get: %s %v", r.Body, r.Header)
	}
	r = a.do("PATCH", "/api/tasks/"+id, "alice", `{"priority":"urgent"}`, `If-Match: "v1"`)
	a.expect(r, 200, "")
	if m := r.json(t); m["priority"] != "urgent" || m["title"] != "Weekly review" {
		t.Errorf("patch: %v", m)
	}
	a.expect(a.do("PATCH", "/api/tasks/"+id, "alice", `{"priority":"low"}`, `If-Match: "v1"`), 412, "precondition_failed")
	r = a.do("PUT", "/api/tasks/"+id, "alice", `{"title":"Replaced"}`)
	a.expect(r, 200, "")
	if m := r.json(t); m["priority"] != "medium" || m["due_date"] != nil || len(m["tags"].([]any)) != 0 {
		t.Errorf("put kept old fields: %v", m)
	}
	r = a.do("PATCH", "/api/tasks/"+id+"/complete", "alice", "")
	a.expect(r, 200, "")
	first := r.json(t)
	if first["status"] != "completed" || first["completed_at"] == nil {
		t.Errorf("complete: %v", first)
	}
	r = a.do("PATCH", "/api/tasks/"+id+"/complete", "alice", "")
	if again := r.json(t); again["completed_at"] != first["completed_at"] || r.Header.Get("ETag") != `"v4"` {
		t.Errorf("second complete changed the task: %v %v", again, r.Header.Get("ETag"))
	}
	r = a.do("PATCH", "/api/tasks/"+id, "alice", `{"status":"active"}`)
	if m := r.json(t); m["status"] != "active" || m["completed_at"] != nil {
		t.Errorf("reopen: %v", m)
	}
	a.expect(a.do("DELETE", "/api/tasks/"+id, "alice", ""), 204, "")
	a.expect(a.do("GET", "/api/tasks/"+id, "alice", ""), 404, "not_found")
	a.expect(a.do("DELETE", "/api/tasks/"+id, "alice", ""), 404, "not_found")
}

func TestListSearchTagsAndBothPathStyles(t *testing.T) {
	a := newAPI(t)
	a.create("alice", `{"title":"Team meeting","tags":["Work"],"priority":"high","due_date":"2027-01-01T00:00:00Z"}`)
	a.create("alice", `{"title":"Buy milk","tags":["home"]}`)
	a.create("bob", `{"title":"Team meeting bob"}`)
	for _, path := range []string{"/api/tasks?sort=due_date", "/api/alice/tasks?sort=due_date", "/api/tasks/filter?sort=due_date"} {
		r := a.do("GET", path, "alice", "")
		a.expect(r, 200, "")
		items := r.json(t)["items"].([]any)
		if len(items) != 2 || items[0].(map[string]any)["title"] != "Team meeting" || r.json(t)["next_cursor"] != nil {
			t.Errorf("%s: %s", path, r.Body)
		}
	}
	r := a.do("GET", "/api/tasks?limit=1&sort=title", "alice", "")
	if r.json(t)["next_cursor"] == nil {
		t.Fatalf("no next_cursor with more items: %s", r.Body)
	}
	r2 := a.do("GET", "/api/tasks?limit=1&sort=title&cursor="+r.json(t)["next_cursor"].(string), "alice", "")
	if items := r2.json(t)["items"].([]any); len(items) != 1 || items[0].(map[string]any)["title"] != "Team meeting" {
		t.Errorf("second page: %s", r2.Body)
	}
	r = a.do("GET", "/api/tasks/search?q=meet", "alice", "")
	if items := r.json(t)["items"].([]any); len(items) != 1 {
		t.Errorf("search: %s", r.Body)
	}
	r = a.do("GET", "/api/alice/tasks/search?q=TEAM+meet&priority=high", "alice", "")
	if items := r.json(t)["items"].([]any); len(items) != 1 {
		t.Errorf("search with filter: %s", r.Body)
	}
	r = a.do("GET", "/api/tags", "alice", "")
	a.expect(r, 200, "")
	if items := r.json(t)["items"].([]any); len(items) != 2 {
		t.Errorf("tags: %s", r.Body)
	}
	a.expect(a.do("GET", "/api/alice/tags", "alice", ""), 200, "")
	a.expect(a.do("GET", "/api/bob/tasks", "alice", ""), 403, "forbidden")
	a.expect(a.do("POST", "/api/bob/tasks", "alice", `{"title":"x"}`), 403, "forbidden")
	if n := a.rows("SELECT count(*) FROM tasks WHERE user_id = 'bob'"); n != 1 {
		t.Errorf("a forbidden create wrote: bob has %d tasks", n)
	}
	a.create("alice", `{"title":"via user path"}`)
	r = a.do("POST", "/api/alice/tasks", "alice", `{"title":"spec style"}`)
	a.expect(r, 201, "")
}

// TestIsolationEveryIDRoute: another user's id answers 404, exactly like a
// missing one, and writes nothing.
func TestIsolationEveryIDRoute(t *testing.T) {
	a := newAPI(t)
	id := a.create("alice", `{"title":"private","tags":["x"]}`)["id"].(string)
	missing := "0193f0c2-0000-7000-8000-000000000000"
	routes := []struct{ method, path, body string }{
		{"GET", "/api/tasks/%s", ""},
		{"PUT", "/api/tasks/%s", `{"title":"pwned"}`},
		{"PATCH", "/api/tasks/%s", `{"title":"pwned"}`},
		{"DELETE", "/api/tasks/%s", ""},
		{"PATCH", "/api/tasks/%s/complete", ""},
		{"GET", "/api/bob/tasks/%s", ""},
		{"PATCH", "/api/bob/tasks/%s/complete", ""},
	}
	for _, rt := range routes {
		other := a.do(rt.method, strings.Replace(rt.path, "%s", id, 1), "bob", rt.body)
		none := a.do(rt.method, strings.Replace(rt.path, "%s", missing, 1), "bob", rt.body)
		a.expect(other, 404, "not_found")
		if string(other.Body) != string(none.Body) {
			t.Errorf("%s %s: another user's id and a missing id answer differently: %s vs %s", rt.method, rt.path, other.Body, none.Body)
		}
	}
	if n := a.rows("SELECT count(*) FROM tasks WHERE title = 'private' AND version = 1 AND status = 'active'"); n != 1 {
		t.Error("bob's requests changed alice's task")
	}
}

func TestErrorsOfTheContract(t *testing.T) {
	a := newAPI(t)
	id := a.create("alice", `{"title":"t"}`)["id"].(string)
	cases := []struct {
		name, method, path, user, body string
		headers                        []string
		status                         int
		code                           string
	}{
		{"no token", "GET", "/api/tasks", "", "", nil, 401, "unauthenticated"},
		{"garbage token", "GET", "/api/tasks", "", "", []string{"Authorization: Bearer x.y.z"}, 401, "unauthenticated"},
		{"unknown path", "GET", "/api/nothing", "alice", "", nil, 404, "not_found"},
		{"wrong method", "POST", "/api/tasks/" + id, "alice", `{"title":"x"}`, nil, 405, "method_not_allowed"},
		{"bad id", "GET", "/api/tasks/not-a-uuid", "alice", "", nil, 404, "not_found"},
		{"bad json", "POST", "/api/tasks", "alice", `{"title":`, nil, 400, "invalid_request"},
		{"unknown field", "POST", "/api/tasks", "alice", `{"title":"a","owner":"x"}`, nil, 400, "invalid_request"},
		{"not json", "POST", "/api/tasks", "alice", `title=a`, []string{"Content-Type: application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"too large", "POST", "/api/tasks", "alice", `{"title":"a","description":"` + strings.Repeat("x", 1<<20) + `"}`, nil, 413, "payload_too_large"},
		{"bad if-match", "PATCH", "/api/tasks/" + id, "alice", `{"title":"b"}`, []string{"If-Match: nonsense"}, 412, "precondition_failed"},
		{"long idempotency key", "POST", "/api/tasks", "alice", `{"title":"a"}`, []string{"Idempotency-Key: " + strings.Repeat("k", 300)}, 400, "invalid_request"},
		{"empty search", "GET", "/api/tasks/search?q=", "alice", "", nil, 400, "invalid_request"},
		{"bad sort", "GET", "/api/tasks?sort=password", "alice", "", nil, 400, "invalid_request"},
		{"bad limit", "GET", "/api/tasks?limit=100000", "alice", "", nil, 400, "invalid_request"},
		{"bad status", "GET", "/api/tasks?status=deleted", "alice", "", nil, 400, "invalid_request"},
		{"bad date", "GET", "/api/tasks?due_before=yesterday", "alice", "", nil, 400, "invalid_request"},
		{"forged cursor", "GET", "/api/tasks?cursor=eyJzIjoiY3JlYXRlZF9hdCJ9", "alice", "", nil, 400, "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a.t = t
			a.expect(a.do(c.method, c.path, c.user, c.body, c.headers...), c.status, c.code)
		})
	}
	if n := a.rows("SELECT count(*) FROM tasks"); n != 1 {
		t.Errorf("bad requests stored tasks: %d rows", n)
	}
	if n := a.rows("SELECT count(*) FROM tasks WHERE title = 't' AND version = 1"); n != 1 {
		t.Error("bad requests changed the task")
	}
}

func TestValidationReportsEveryField(t *testing.T) {
	a := newAPI(t)
	r := a.do("POST", "/api/tasks", "alice", `{"title":"","priority":"x","tags":"a","due_date":"soon","bogus":1}`)
	a.expect(r, 400, "invalid_request")
	f := r.json(t)["error"].(map[string]any)["fields"].(map[string]any)
	for _, k := range []string{"title", "priority", "tags", "due_date", "bogus"} {
		if f[k] == nil {
			t.Errorf("no error for %s: %v", k, f)
		}
	}
	id := a.create("alice", `{"title":"t"}`)["id"].(string)
	r = a.do("PATCH", "/api/tasks/"+id, "alice", `{"title":"","reminder_time":"2027-01-02T00:00:00Z","due_date":"2027-01-01T00:00:00Z","x":1}`)
	a.expect(r, 400, "invalid_request")
	f = r.json(t)["error"].(map[string]any)["fields"].(map[string]any)
	if f["title"] == nil || f["reminder_time"] == nil || f["x"] == nil {
		t.Errorf("patch errors: %v", f)
	}
	if n := a.rows("SELECT count(*) FROM tasks WHERE title = 't' AND version = 1"); n != 1 {
		t.Error("an invalid PATCH changed the task")
	}
}

func TestIdempotencyKeyReturnsFirstResult(t *testing.T) {
	a := newAPI(t)
	first := a.do("POST", "/api/tasks", "alice", `{"title":"once"}`, "Idempotency-Key: abc")
	again := a.do("POST", "/api/tasks", "alice", `{"title":"once"}`, "Idempotency-Key: abc")
	a.expect(first, 201, "")
	a.expect(again, 201, "")
	if string(first.Body) != string(again.Body) {
		t.Errorf("retry answered differently:\n%s\n%s", first.Body, again.Body)
	}
	a.expect(a.do("POST", "/api/tasks", "alice", `{"title":"twice"}`, "Idempotency-Key: abc"), 409, "conflict")
	if n := a.rows("SELECT count(*) FROM tasks"); n != 1 {
		t.Errorf("%d tasks after retries", n)
	}
}
