package mcpserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskflow/taskflow/pkg/store"
)

func TestTools(t *testing.T) {
	s := newStack(t)
	cs := s.connect(t, "alice", nil)

	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"add_task", "add_tasks", "list_tasks", "search_tasks", "get_task", "update_task", "complete_task",
		"skip_occurrence", "end_series", "reopen_task", "delete_task", "list_tags", "task_history", "list_notifications",
		"preview_recurrence", "get_settings", "update_settings"}
	byName := map[string]*mcp.Tool{}
	for _, tl := range tools.Tools {
		byName[tl.Name] = tl
	}
	for _, n := range want {
		tl := byName[n]
		if tl == nil {
			t.Fatalf("no tool %s", n)
		}
		if tl.InputSchema == nil || tl.OutputSchema == nil || tl.Annotations == nil || tl.Annotations.DestructiveHint == nil {
			t.Errorf("%s: schemas or annotations missing", n)
		}
	}
	if !byName["list_tasks"].Annotations.ReadOnlyHint || byName["add_task"].Annotations.ReadOnlyHint ||
		!*byName["delete_task"].Annotations.DestructiveHint || *byName["update_task"].Annotations.DestructiveHint {
		t.Error("annotations do not say which tools read, change or destroy")
	}

	// add_task, with local times in the pattern's zone.
	added := ok(t, cs, "add_task", map[string]any{"title": "Weekly review", "priority": "high", "tags": []string{"work"},
		"due_date": "2031-05-04T07:00:00Z", "recurrence_pattern": map[string]any{"frequency": "weekly", "timezone": "Europe/Berlin"}})
	id := added["id"].(string)
	if got := added["due_date_local"]; !jsonEq(got, `{"local":"2031-05-04T09:00:00","weekday":"Sunday","offset":"+02:00","timezone":"Europe/Berlin"}`) {
		t.Errorf("due_date_local %v", got)
	}
	if added["version"] != float64(1) || added["is_recurring"] != true {
		t.Errorf("added %v", added)
	}
	// ... or in the zone asked for.
	other := ok(t, cs, "add_task", map[string]any{"title": "Call Bob", "due_date": "2031-05-04T23:30:00Z", "timezone": "Asia/Tokyo"})
	if l := other["due_date_local"].(map[string]any); l["local"] != "2031-05-05T08:30:00" || l["weekday"] != "Monday" {
		t.Errorf("Tokyo local %v", l)
	}
	fails(t, cs, "add_task", map[string]any{"title": "", "priority": "huge", "colour": "red"}, "invalid_request",
		"title", "priority", "colour")
	fails(t, cs, "add_task", map[string]any{"title": "x", "timezone": "Mars/Olympus"}, "invalid_request", "timezone")
	fails(t, cs, "add_task", map[string]any{"title": "x", "recurrence_pattern": map[string]any{"frequency": "weekly", "interval": 0}},
		"invalid_request", "recurrence_pattern.interval")

	// The same rows as REST sees them.
	if code, body := s.rest(t, "alice", "GET", "/api/tasks/"+id, ""); code != 200 || !strings.Contains(body, "Weekly review") {
		t.Errorf("REST get %d %s", code, body)
	}

	// get_task
	if got := ok(t, cs, "get_task", map[string]any{"task_id": id}); got["title"] != "Weekly review" {
		t.Errorf("get %v", got)
	}
	fails(t, cs, "get_task", map[string]any{"task_id": "0193f0c2-0000-7000-8000-000000000000"}, "not_found")
	fails(t, cs, "get_task", map[string]any{"task_id": "not-a-uuid"}, "not_found")
	fails(t, cs, "get_task", map[string]any{}, "invalid_request", "task_id")

	// list_tasks and search_tasks
	page := ok(t, cs, "list_tasks", map[string]any{"priority": []string{"high", "urgent"}, "sort": "due_date", "limit": 10})
	if items := page["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != id {
		t.Errorf("list %v", page)
	}
	if _, ok := page["next_cursor"]; !ok {
		t.Error("list has no next_cursor")
	}
	page = ok(t, cs, "list_tasks", map[string]any{"limit": 1, "sort": "title"})
	if page["next_cursor"] == nil {
		t.Errorf("a first page of 1 of 2 has no cursor: %v", page)
	}
	fails(t, cs, "list_tasks", map[string]any{"sort": "colour", "limit": 501, "bogus": 1}, "invalid_request", "sort", "limit", "bogus")
	found := ok(t, cs, "search_tasks", map[string]any{"q": "week"})
	if items := found["items"].([]any); len(items) != 1 {
		t.Errorf("search %v", found)
	}
	fails(t, cs, "search_tasks", map[string]any{"q": ""}, "invalid_request", "q")

	// update_task
	upd := ok(t, cs, "update_task", map[string]any{"task_id": id, "title": "Weekly review (team)", "if_match_version": 1})
	if upd["title"] != "Weekly review (team)" || upd["priority"] != "high" || upd["version"] != float64(2) {
		t.Errorf("update %v", upd)
	}
	fails(t, cs, "update_task", map[string]any{"task_id": id, "title": "stale", "if_match_version": 1}, "precondition_failed")
	fails(t, cs, "update_task", map[string]any{"task_id": id, "priority": "huge"}, "invalid_request", "priority")

	// complete_task: the series goes on next Sunday, 09:00 in Berlin.
	done := ok(t, cs, "complete_task", map[string]any{"task_id": id})
	if done["task"].(map[string]any)["status"] != "completed" || done["next_due_date"] != "2031-05-11T07:00:00Z" {
		t.Errorf("complete %v", done)
	}
	if l := done["next_due_date_local"].(map[string]any); l["local"] != "2031-05-11T09:00:00" {
		t.Errorf("next local %v", l)
	}
	again := ok(t, cs, "complete_task", map[string]any{"task_id": id})
	if again["task"].(map[string]any)["version"] != done["task"].(map[string]any)["version"] {
		t.Error("a second complete changed the task")
	}
	plain := ok(t, cs, "complete_task", map[string]any{"task_id": other["id"]})
	if plain["next_due_date"] != nil {
		t.Errorf("a task without a series has a next due date: %v", plain)
	}
	fails(t, cs, "complete_task", map[string]any{"task_id": "0193f0c2-0000-7000-8000-000000000000"}, "not_found")

	// reopen_task
	if got := ok(t, cs, "reopen_task", map[string]any{"task_id": id}); got["status"] != "active" || got["completed_at"] != nil {
		t.Errorf("reopen %v", got)
	}
	fails(t, cs, "reopen_task", map[string]any{"task_id": id, "extra": true}, "invalid_request", "extra")

	// list_tags
	tags := ok(t, cs, "list_tags", map[string]any{})
	if !strings.Contains(mustJSON(tags), `"name":"work"`) {
		t.Errorf("tags %v", tags)
	}
	fails(t, cs, "list_tags", map[string]any{"user_id": "bob"}, "invalid_request", "user_id")

	// task_history: the audit function is not running here; record what it
	// would. A task without history is not found, as on REST.
	fails(t, cs, "task_history", map[string]any{"task_id": id}, "not_found")
	if _, err := s.store.RecordAudit(context.Background(), "alice", id, store.AuditEntry{EventID: "e1",
		Type: "dev.taskflow.task.created", Time: time.Date(2031, 5, 4, 7, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	hist := ok(t, cs, "task_history", map[string]any{"task_id": id, "timezone": "Europe/Berlin"})
	if !strings.Contains(mustJSON(hist), `"time_local":{"local":"2031-05-04T09:00:00","offset":"+02:00","timezone":"Europe/Berlin","weekday":"Sunday"}`) {
		t.Errorf("history %v", hist)
	}
	fails(t, cs, "task_history", map[string]any{"task_id": "x"}, "not_found")

	// list_notifications
	if n := ok(t, cs, "list_notifications", map[string]any{"unread_only": true, "limit": 5}); len(n["items"].([]any)) != 0 {
		t.Errorf("notifications %v", n)
	}
	fails(t, cs, "list_notifications", map[string]any{"limit": 0, "unread_only": "yes"}, "invalid_request", "limit", "unread_only")

	// preview_recurrence
	pv := ok(t, cs, "preview_recurrence", map[string]any{"due_date": "2031-05-04T07:00:00Z", "count": 2,
		"recurrence_pattern": map[string]any{"frequency": "weekly", "timezone": "Europe/Berlin"}})
	if !strings.Contains(mustJSON(pv), `"local":"2031-05-11T09:00:00"`) {
		t.Errorf("preview %v", pv)
	}
	fails(t, cs, "preview_recurrence", map[string]any{"due_date": "tomorrow", "count": 99}, "invalid_request", "due_date", "count")

	// delete_task
	if got := ok(t, cs, "delete_task", map[string]any{"task_id": id}); got["deleted"] != true {
		t.Errorf("delete %v", got)
	}
	fails(t, cs, "delete_task", map[string]any{"task_id": id}, "not_found")
	if code, _ := s.rest(t, "alice", "GET", "/api/tasks/"+id, ""); code != 404 {
		t.Errorf("deleted task answers %d", code)
	}
}

// TestIsolation: another user's ids are not found by any tool, and the
// owner's task is unchanged afterwards.
func TestIsolation(t *testing.T) {
	s := newStack(t)
	alice := s.connect(t, "alice", nil)
	bob := s.connect(t, "bob", nil)
	a := ok(t, alice, "add_task", map[string]any{"title": "Alice's secret", "tags": []string{"private"}})
	id := a["id"]
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"get_task", map[string]any{"task_id": id}},
		{"update_task", map[string]any{"task_id": id, "title": "pwned"}},
		{"complete_task", map[string]any{"task_id": id}},
		{"reopen_task", map[string]any{"task_id": id}},
		{"skip_occurrence", map[string]any{"task_id": id}},
		{"end_series", map[string]any{"task_id": id}},
		{"delete_task", map[string]any{"task_id": id}},
		{"task_history", map[string]any{"task_id": id}},
	} {
		e := fails(t, bob, c.tool, c.args, "not_found")
		if strings.Contains(mustJSON(e), "secret") {
			t.Errorf("%s leaks: %v", c.tool, e)
		}
	}
	for _, tool := range []string{"list_tasks", "list_tags"} {
		if out := ok(t, bob, tool, map[string]any{}); strings.Contains(mustJSON(out), "secret") || strings.Contains(mustJSON(out), "private") {
			t.Errorf("%s shows Alice's data to Bob: %v", tool, out)
		}
	}
	if out := ok(t, bob, "search_tasks", map[string]any{"q": "secret"}); len(out["items"].([]any)) != 0 {
		t.Errorf("search shows Alice's task to Bob: %v", out)
	}
	// Bob cannot name Alice as the user: user_id is ignored, as in a REST body.
	planted := ok(t, bob, "add_task", map[string]any{"title": "planted", "user_id": "alice"})
	fails(t, alice, "get_task", map[string]any{"task_id": planted["id"]}, "not_found")
	got := ok(t, alice, "get_task", map[string]any{"task_id": id})
	if got["title"] != "Alice's secret" || got["status"] != "active" || got["version"] != float64(1) {
		t.Errorf("Alice's task changed: %v", got)
	}
}

// TestAddTasks: all or nothing, and a retry with the same keys creates nothing.
func TestAddTasks(t *testing.T) {
	s := newStack(t)
	cs := s.connect(t, "carol", nil)
	count := func() int {
		out := ok(t, cs, "list_tasks", map[string]any{"limit": 500})
		return len(out["items"].([]any))
	}
	batch := map[string]any{"tasks": []any{
		map[string]any{"title": "one", "idempotency_key": "k1"},
		map[string]any{"title": "two", "idempotency_key": "k2", "due_date": "2031-01-01T10:00:00Z"},
		map[string]any{"title": "three"},
	}}
	first := ok(t, cs, "add_tasks", batch)
	if len(first["items"].([]any)) != 3 || count() != 3 {
		t.Fatalf("add_tasks %v", first)
	}
	retry := ok(t, cs, "add_tasks", map[string]any{"tasks": []any{
		map[string]any{"title": "one", "idempotency_key": "k1"},
		map[string]any{"title": "two", "idempotency_key": "k2", "due_date": "2031-01-01T10:00:00Z"},
	}})
	if n := count(); n != 3 {
		t.Errorf("the retry created tasks: %d", n)
	}
	for i, want := range []int{0, 1} {
		if retry["items"].([]any)[i].(map[string]any)["id"] != first["items"].([]any)[want].(map[string]any)["id"] {
			t.Errorf("retry item %d is another task", i)
		}
	}
	// add_task shares the keys (same table, same user scope).
	one := ok(t, cs, "add_task", map[string]any{"title": "one", "idempotency_key": "k1"})
	if one["id"] != first["items"].([]any)[0].(map[string]any)["id"] || count() != 3 {
		t.Error("add_task with a batch's key created another task")
	}
	fails(t, cs, "add_task", map[string]any{"title": "not one", "idempotency_key": "k1"}, "conflict")
	// Another user's identical key is theirs alone.
	dave := s.connect(t, "dave", nil)
	if d := ok(t, dave, "add_task", map[string]any{"title": "one", "idempotency_key": "k1"}); d["id"] == one["id"] {
		t.Error("keys are shared between users")
	}

	// One bad item: nothing is created, every item's problems are listed.
	e := fails(t, cs, "add_tasks", map[string]any{"tasks": []any{
		map[string]any{"title": "fine"},
		map[string]any{"title": "", "priority": "huge"},
		"not an object",
		map[string]any{"title": "dup", "idempotency_key": "k9"},
		map[string]any{"title": "dup", "idempotency_key": "k9"},
	}}, "invalid_request", "tasks[1].title", "tasks[1].priority", "tasks[2]", "tasks[4].idempotency_key")
	if _, bad := e["fields"].(map[string]any)["tasks[0].title"]; bad {
		t.Error("a good item is reported")
	}
	// A conflict found while inserting rolls every item back.
	fails(t, cs, "add_tasks", map[string]any{"tasks": []any{
		map[string]any{"title": "new and fine"},
		map[string]any{"title": "other body", "idempotency_key": "k2"},
	}}, "conflict")
	if n := count(); n != 3 {
		t.Errorf("a failed batch left %d tasks, want 3", n)
	}
	fails(t, cs, "add_tasks", map[string]any{"tasks": []any{}}, "invalid_request", "tasks")
	many := make([]any, 101)
	for i := range many {
		many[i] = map[string]any{"title": "t"}
	}
	fails(t, cs, "add_tasks", map[string]any{"tasks": many}, "invalid_request", "tasks")
}

// TestSubscription: a session subscribed to a resource is told within a
// second of a change made through the REST API, and reads the change.
func TestSubscription(t *testing.T) {
	s := newStack(t)
	updated := make(chan string, 16)
	cs := s.connect(t, "erin", &mcp.ClientOptions{ResourceUpdatedHandler: func(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) {
		updated <- r.Params.URI
	}})
	// Another user's changes must not reach erin.
	frank := s.connect(t, "frank", nil)
	ctx := context.Background()
	res, err := cs.ListResources(ctx, nil)
	if err != nil || len(res.Resources) != 2 {
		t.Fatalf("resources %v %v", res, err)
	}
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "taskflow://tasks/overdue"}); err != nil {
		t.Fatal(err)
	}
	berlin := "taskflow://tasks/today?timezone=Europe%2FBerlin" // the template {?timezone} expanded
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: berlin}); err != nil {
		t.Fatal(err)
	}
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "taskflow://tasks/nope"}); err == nil {
		t.Error("subscribed to a resource that does not exist")
	}
	ok(t, frank, "add_task", map[string]any{"title": "Frank's", "due_date": "2020-01-01T00:00:00Z"})
	select {
	case uri := <-updated:
		t.Fatalf("erin told of frank's change (%s)", uri)
	case <-time.After(1500 * time.Millisecond):
	}

	start := time.Now()
	code, body := s.rest(t, "erin", "POST", "/api/tasks", `{"title":"Overdue report","due_date":"2020-01-01T00:00:00Z"}`)
	if code != 201 {
		t.Fatalf("REST create %d %s", code, body)
	}
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case uri := <-updated:
			seen[uri] = true
		case <-time.After(3 * time.Second):
			t.Fatalf("notified of %v only", seen)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("notified after %v, want within a second", d)
	}
	if !seen[berlin] || !seen["taskflow://tasks/overdue"] {
		t.Errorf("notified of %v", seen)
	}
	for _, uri := range []string{"taskflow://tasks/overdue", berlin, "taskflow://tasks/today"} {
		rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err != nil {
			t.Fatal(uri, err)
		}
		text := rr.Contents[0].Text
		if !strings.Contains(text, "Overdue report") || strings.Contains(text, "Frank") {
			t.Errorf("%s: %s", uri, text)
		}
	}
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: berlin})
	if err != nil || !strings.Contains(rr.Contents[0].Text, `"timezone":"Europe/Berlin"`) {
		t.Errorf("today in Berlin: %v %v", rr, err)
	}
}

// TestUnauthorized: no token, a bad one: 401 with WWW-Authenticate naming
// the protected resource metadata, which the gateway serves.
func TestUnauthorized(t *testing.T) {
	s := newStack(t)
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	for _, auth := range []string{"", "Bearer nope.nope.nope", "Basic abc"} {
		req, _ := http.NewRequest("POST", s.base+"/mcp", strings.NewReader(init))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		www := res.Header.Get("WWW-Authenticate")
		if res.StatusCode != 401 || !strings.Contains(www, `resource_metadata="`+s.base+"/.well-known/oauth-protected-resource/mcp") {
			t.Errorf("%q: %d, WWW-Authenticate %q", auth, res.StatusCode, www)
		}
		var e struct{ Error struct{ Code string } }
		if json.Unmarshal(body, &e) != nil || e.Error.Code != "unauthenticated" {
			t.Errorf("%q: body %s", auth, body)
		}
	}
	for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
		res, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		var md struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
		}
		err = json.NewDecoder(res.Body).Decode(&md)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || md.Resource != s.base+"/mcp" || len(md.AuthorizationServers) != 1 ||
			md.AuthorizationServers[0] != s.base {
			t.Errorf("%s: %d %+v %v", path, res.StatusCode, md, err)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonEq(v any, want string) bool {
	var w any
	_ = json.Unmarshal([]byte(want), &w)
	return mustJSON(v) == mustJSON(w)
}

// TestSeriesTools: skip_occurrence skips an occurrence and tells when the
// next is due, as complete_task does (for a series that repeats from
// completion, counted from now); end_series ends the series at an
// occurrence; add_task and update_task take repeat_from.
func TestSeriesTools(t *testing.T) {
	s := newStack(t)
	cs := s.connect(t, "alice", nil)
	// Every three days from completion, 09:00 in Berlin.
	added := ok(t, cs, "add_task", map[string]any{"title": "Water the plants", "due_date": "2031-05-04T07:00:00Z",
		"recurrence_pattern": map[string]any{"frequency": "daily", "interval": 3, "timezone": "Europe/Berlin", "repeat_from": "completion"}})
	id := added["id"].(string)
	if p := added["recurrence_pattern"].(map[string]any); p["repeat_from"] != "completion" {
		t.Errorf("add_task pattern %v", p)
	}
	fails(t, cs, "add_task", map[string]any{"title": "x", "due_date": "2031-05-04T07:00:00Z",
		"recurrence_pattern": map[string]any{"frequency": "daily", "repeat_from": "whenever"}}, "invalid_request", "recurrence_pattern.repeat_from")
	skipped := ok(t, cs, "skip_occurrence", map[string]any{"task_id": id})
	task := skipped["task"].(map[string]any)
	if task["status"] != "skipped" || task["completed_at"] != nil {
		t.Errorf("skip_occurrence task %v", task)
	}
	// Skipped now: three days after today's date in Berlin, at 09:00.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	today := time.Now().In(berlin)
	want := time.Date(today.Year(), today.Month(), today.Day()+3, 9, 0, 0, 0, berlin).UTC().Format(time.RFC3339)
	if skipped["next_due_date"] != want {
		t.Errorf("next_due_date %v, want %s", skipped["next_due_date"], want)
	}
	again := ok(t, cs, "skip_occurrence", map[string]any{"task_id": id})
	if again["task"].(map[string]any)["version"] != task["version"] {
		t.Error("a second skip changed the task")
	}
	plain := ok(t, cs, "add_task", map[string]any{"title": "once"})
	fails(t, cs, "skip_occurrence", map[string]any{"task_id": plain["id"]}, "conflict")
	fails(t, cs, "end_series", map[string]any{"task_id": plain["id"]}, "conflict")

	weekly := ok(t, cs, "add_task", map[string]any{"title": "Course", "due_date": "2031-05-04T16:00:00Z",
		"recurrence_pattern": map[string]any{"frequency": "weekly"}})
	upd := ok(t, cs, "update_task", map[string]any{"task_id": weekly["id"], "recurrence_pattern": map[string]any{
		"frequency": "weekly", "repeat_from": "completion"}})
	if upd["recurrence_pattern"].(map[string]any)["repeat_from"] != "completion" {
		t.Errorf("update_task pattern %v", upd["recurrence_pattern"])
	}
	ended := ok(t, cs, "end_series", map[string]any{"task_id": weekly["id"]})
	if ended["is_recurring"] != false || ended["recurrence_pattern"] != nil || ended["series_id"] != weekly["series_id"] ||
		ended["status"] != "active" {
		t.Errorf("end_series %v", ended)
	}
	fails(t, cs, "end_series", map[string]any{"task_id": weekly["id"]}, "conflict")
	done := ok(t, cs, "complete_task", map[string]any{"task_id": weekly["id"]})
	if done["next_due_date"] != nil {
		t.Errorf("an ended series goes on: %v", done)
	}
}
