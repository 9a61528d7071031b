package handlers_test

import (
	"fmt"
	"sync"
	"testing"
)

// tagCounts is GET /api/tags as name → count, checked against the
// per-tag subquery that computed it before the counts were kept.
func (a *api) tagCounts(user string) map[string]int64 {
	a.t.Helper()
	r := a.do("GET", "/api/tags", user, "")
	a.expect(r, 200, "")
	out := map[string]int64{}
	for _, it := range r.json(a.t)["items"].([]any) {
		m := it.(map[string]any)
		name, n := m["name"].(string), int64(m["count"].(float64))
		out[name] = n
		want := a.rows(fmt.Sprintf(`SELECT count(*) FROM tasks t JOIN tags g USING (user_id)
			WHERE t.user_id = '%s' AND g.name = '%s' AND t.tag_keys @> ARRAY[g.key]`, user, name))
		if n != want {
			a.t.Errorf("%s: count %d, the subquery says %d", name, n, want)
		}
	}
	return out
}

func TestTagCountsThroughTheAPI(t *testing.T) {
	a := newAPI(t)
	want := func(step string, w map[string]int64) {
		t.Helper()
		if got := a.tagCounts("alice"); fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("after %s: %v, want %v", step, got, w)
		}
	}
	id := a.create("alice", `{"title":"a","tags":["Work","work","home"]}`)["id"].(string)
	want("create", map[string]int64{"Work": 1, "home": 1})
	for range 2 {
		r := a.do("POST", "/api/tasks", "alice", `{"title":"b","tags":["work"]}`, "Idempotency-Key: k1")
		if r.Status != 201 && r.Status != 200 {
			t.Fatalf("idempotent create: %d %s", r.Status, r.Body)
		}
	}
	want("an idempotent create sent twice", map[string]int64{"Work": 2, "home": 1})
	a.expect(a.do("PATCH", "/api/tasks/"+id, "alice", `{"tags":["HOME","errands"]}`), 200, "")
	want("patch", map[string]int64{"Work": 1, "home": 1, "errands": 1})
	a.expect(a.do("PUT", "/api/tasks/"+id, "alice", `{"title":"a","tags":["errands"]}`), 200, "")
	want("put", map[string]int64{"Work": 1, "home": 0, "errands": 1})
	a.expect(a.do("PATCH", "/api/tasks/"+id+"/complete", "alice", ""), 200, "")
	a.expect(a.do("PATCH", "/api/tasks/"+id, "alice", `{"status":"active"}`), 200, "")
	want("complete and reopen", map[string]int64{"Work": 1, "home": 0, "errands": 1})
	a.expect(a.do("DELETE", "/api/tasks/"+id, "alice", ""), 204, "")
	want("delete", map[string]int64{"Work": 1, "home": 0, "errands": 0})

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if r := a.do("POST", "/api/tasks", "bob", `{"title":"x","tags":["work"]}`); r.Status != 201 {
				t.Errorf("create: %d %s", r.Status, r.Body)
			}
		})
	}
	wg.Wait()
	if got := a.tagCounts("bob"); got["work"] != 50 {
		t.Errorf("50 concurrent creates: %v", got)
	}
}
