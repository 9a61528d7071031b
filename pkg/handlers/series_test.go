package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

// seriesAPI is the REST API with the recurrence and audit consumers, fed
// from the outbox as the relay and the Broker would, and a clock the test sets.
type seriesAPI struct {
	*api
	st    *store.Store
	d     *fn.Deps
	clock time.Time
}

func newSeriesAPI(t *testing.T) *seriesAPI {
	t.Helper()
	st, url := storetest.New(t)
	h, d := serveEvery(t, st)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s := &seriesAPI{api: &api{t: t, srv: srv, db: url}, st: st, d: d, clock: time.Now().UTC()}
	d.Now = func() time.Time { return s.clock }
	return s
}

// outbox is every event written so far, oldest first.
func (s *seriesAPI) outbox() []events.Event {
	s.t.Helper()
	pending, err := s.st.Unsent(context.Background(), 10000)
	if err != nil {
		s.t.Fatal(err)
	}
	out := make([]events.Event, len(pending))
	for i, p := range pending {
		out[i] = p.Event
	}
	return out
}

// eventsOf lists the types of the outbox's events about task id.
func (s *seriesAPI) eventsOf(id string) []string {
	var out []string
	for _, e := range s.outbox() {
		if e.Subject == id {
			out = append(out, e.Type)
		}
	}
	return out
}

// deliver hands every event in the outbox to the recurrence and audit
// consumers, as many times as given (a redelivery changes nothing).
func (s *seriesAPI) deliver(times int) {
	s.t.Helper()
	rec, audit := consumers.Recurrence(s.d), consumers.Audit(s.d)
	for range times {
		for _, e := range s.outbox() {
			ce, err := kafka.CloudEvent(e)
			if err != nil {
				s.t.Fatal(err)
			}
			for _, hs := range []map[string]fn.EventHandler{rec, audit} {
				if h := hs[ce.Type()]; h != nil {
					if err := h(context.Background(), ce); err != nil {
						s.t.Fatalf("%s: %v", ce.Type(), err)
					}
				}
			}
		}
	}
}

// successors lists, as GET shows them, the tasks whose predecessor is id.
func (s *seriesAPI) successors(id string) []map[string]any {
	s.t.Helper()
	conn, err := pgx.Connect(context.Background(), s.db)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(context.Background(), `SELECT id::text FROM tasks WHERE predecessor_id = $1`, id)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		s.t.Fatal(err)
	}
	var out []map[string]any
	for _, sid := range ids {
		out = append(out, s.get(sid))
	}
	return out
}

func (s *seriesAPI) get(id string) map[string]any {
	s.t.Helper()
	r := s.do("GET", "/api/tasks/"+id, "alice", "")
	if r.Status != http.StatusOK {
		s.t.Fatalf("get %s: %d %s", id, r.Status, r.Body)
	}
	return r.json(s.t)
}

func pattern(t map[string]any) map[string]any {
	p, _ := t["recurrence_pattern"].(map[string]any)
	return p
}

// TestRepeatFromThroughTheAPI: repeat_from is "due" unless sent, shown in
// every response, refused (400, with the other field errors) for any other
// value, previewed, and kept by PATCH; switching it starts the series afresh.
func TestRepeatFromThroughTheAPI(t *testing.T) {
	s := newSeriesAPI(t)
	due := s.create("alice", `{"title":"water plants","due_date":"2031-05-04T09:00:00+02:00",
		"recurrence_pattern":{"frequency":"daily","timezone":"Europe/Berlin"}}`)
	if pattern(due)["repeat_from"] != "due" {
		t.Errorf("default repeat_from %v", pattern(due)["repeat_from"])
	}
	nulled := s.create("alice", `{"title":"n","due_date":"2031-05-04T09:00:00Z","recurrence_pattern":{"frequency":"daily","repeat_from":null}}`)
	if pattern(nulled)["repeat_from"] != "due" {
		t.Errorf("null repeat_from %v", pattern(nulled)["repeat_from"])
	}
	every := s.create("alice", `{"title":"haircut","due_date":"2031-05-04T09:00:00+02:00",
		"recurrence_pattern":{"frequency":"weekly","interval":4,"timezone":"Europe/Berlin","repeat_from":"completion"}}`)
	if pattern(every)["repeat_from"] != "completion" {
		t.Errorf("repeat_from %v", pattern(every)["repeat_from"])
	}
	if got := pattern(s.get(every["id"].(string)))["repeat_from"]; got != "completion" {
		t.Errorf("GET repeat_from %v", got)
	}
	// Bad values: 400 with every field's error, nothing stored.
	before := s.rows(`SELECT count(*) FROM tasks`)
	for _, bad := range []string{`"every!"`, `"Completion"`, `""`, `1`, `true`} {
		r := s.do("POST", "/api/tasks", "alice", `{"title":"","due_date":"2031-05-04T09:00:00Z",
			"recurrence_pattern":{"frequency":"daily","repeat_from":`+bad+`}}`)
		s.expect(r, http.StatusBadRequest, "invalid_request")
		f := fields(t, r)
		if f["recurrence_pattern.repeat_from"] == nil || f["title"] == nil {
			t.Errorf("repeat_from %s: fields %v", bad, f)
		}
	}
	if s.rows(`SELECT count(*) FROM tasks`) != before {
		t.Error("a refused body stored a task")
	}
	// PATCH: a pattern without repeat_from is "due" again; with it, kept.
	id := due["id"].(string)
	r := s.do("PATCH", "/api/tasks/"+id, "alice", `{"recurrence_pattern":{"frequency":"daily","timezone":"Europe/Berlin","repeat_from":"completion"}}`)
	if r.Status != http.StatusOK || pattern(r.json(t))["repeat_from"] != "completion" {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	r = s.do("PATCH", "/api/tasks/"+id, "alice", `{"recurrence_pattern":{"frequency":"daily","timezone":"Europe/Berlin","repeat_from":"sometimes"}}`)
	s.expect(r, http.StatusBadRequest, "invalid_request")
	if pattern(s.get(id))["repeat_from"] != "completion" {
		t.Error("a refused PATCH changed repeat_from")
	}
	// Another user's task: 404.
	s.expect(s.do("PATCH", "/api/tasks/"+id, "bob", `{"recurrence_pattern":{"frequency":"daily","repeat_from":"due"}}`),
		http.StatusNotFound, "not_found")

	// The preview assumes each occurrence is completed on its due date.
	occ := s.preview(`{"due_date":"2031-05-05T09:00:00+02:00","count":3,
		"recurrence_pattern":{"frequency":"weekly","days_of_week":[1,3],"timezone":"Europe/Berlin","repeat_from":"completion"}}`)
	if len(occ) != 3 || occ[1].Local != "2031-05-07T09:00:00" || occ[2].Local != "2031-05-12T09:00:00" {
		t.Errorf("preview %+v", occ)
	}
	s.expect(s.do("POST", "/api/recurrence/preview", "alice", `{"due_date":"2031-05-05T09:00:00Z",
		"recurrence_pattern":{"frequency":"daily","repeat_from":"never"}}`), http.StatusBadRequest, "invalid_request")
}

// TestRepeatFromCompletionSuccessor: the example. A four-weekly
// haircut due 2027-03-01 09:00 in Berlin, done late on 2027-03-18 (CET),
// is next due four weeks after that day, 2027-04-15 09:00, which is CEST
// (07:00 UTC); exactly one successor however often task.completed comes, it
// repeats from completion too, and COUNT ends the series.
func TestRepeatFromCompletionSuccessor(t *testing.T) {
	s := newSeriesAPI(t)
	first := s.create("alice", `{"title":"haircut","due_date":"2027-03-01T09:00:00+01:00","reminder_time":"2027-03-01T08:00:00+01:00",
		"recurrence_pattern":{"frequency":"weekly","interval":4,"occurrences":2,"timezone":"Europe/Berlin","repeat_from":"completion"}}`)
	id := first["id"].(string)
	s.clock = time.Date(2027, 3, 18, 19, 30, 0, 0, time.UTC) // 20:30 CET
	if r := s.do("PATCH", "/api/tasks/"+id+"/complete", "alice", ""); r.Status != http.StatusOK {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	s.deliver(3)
	succ := s.successors(id)
	if len(succ) != 1 {
		t.Fatalf("%d successors, want 1", len(succ))
	}
	next := succ[0]
	if next["due_date"] != "2027-04-15T07:00:00Z" || next["reminder_time"] != "2027-04-15T06:00:00Z" {
		t.Errorf("successor due %v, reminder %v; want 2027-04-15T07:00:00Z, 06:00", next["due_date"], next["reminder_time"])
	}
	if pattern(next)["repeat_from"] != "completion" || next["series_id"] != first["series_id"] || next["status"] != "active" {
		t.Errorf("successor %v", next)
	}
	// The second occurrence of occurrences: 2 is the last.
	s.clock = time.Date(2027, 4, 20, 8, 0, 0, 0, time.UTC)
	if r := s.do("PATCH", "/api/tasks/"+next["id"].(string)+"/complete", "alice", ""); r.Status != http.StatusOK {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	s.deliver(1)
	if got := s.successors(next["id"].(string)); len(got) != 0 {
		t.Errorf("COUNT 2 made a third occurrence: %v", got)
	}
	if n := s.rows(`SELECT count(*) FROM tasks`); n != 2 {
		t.Errorf("%d tasks, want 2", n)
	}
}

// TestSkipOccurrence: skipping marks the occurrence skipped (not completed,
// completed_at null) with one task.skipped event, makes one successor as if
// completed then, is idempotent, lists under status=skipped only, and can be
// reopened; the history shows it as its own type.
func TestSkipOccurrence(t *testing.T) {
	s := newSeriesAPI(t)
	// Every Monday at 09:00 in Berlin; the first on 2027-03-22, CET.
	first := s.create("alice", `{"title":"stand-up","due_date":"2027-03-22T09:00:00+01:00",
		"recurrence_pattern":{"frequency":"weekly","timezone":"Europe/Berlin"}}`)
	id := first["id"].(string)
	s.clock = time.Date(2027, 3, 21, 12, 0, 0, 0, time.UTC)
	r := s.do("POST", "/api/tasks/"+id+"/skip", "alice", "")
	if r.Status != http.StatusOK {
		t.Fatalf("skip: %d %s", r.Status, r.Body)
	}
	got := r.json(t)
	if got["status"] != "skipped" || got["completed_at"] != nil || got["is_recurring"] != true {
		t.Errorf("skipped task %v", got)
	}
	etag := r.Header.Get("ETag")
	// Again: 200, unchanged, no second event.
	again := s.do("POST", "/api/tasks/"+id+"/skip", "alice", "")
	if again.Status != http.StatusOK || again.json(t)["updated_at"] != got["updated_at"] || again.Header.Get("ETag") != etag {
		t.Errorf("second skip: %d %s", again.Status, again.Body)
	}
	if ev := s.eventsOf(id); !slices.Equal(ev, []string{events.TaskCreated, events.TaskSkipped}) {
		t.Errorf("events %v, want created, skipped", ev)
	}
	for _, e := range s.outbox() {
		if e.Type != events.TaskSkipped {
			continue
		}
		var d events.TaskData
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.Task.ID != id || d.Task.Status != "skipped" || d.UserID != "alice" || d.Previous != nil || d.Task.CompletedAt != nil ||
			!slices.Equal(e.Topics, []string{events.TopicTaskEvents, events.TopicTaskUpdates}) {
			t.Errorf("task.skipped %+v, topics %v", d, e.Topics)
		}
	}
	// One successor, next Monday (the skipped one's own date is not after
	// the skip), however often task.skipped is delivered.
	s.deliver(3)
	succ := s.successors(id)
	if len(succ) != 1 || succ[0]["due_date"] != "2027-03-29T07:00:00Z" || succ[0]["status"] != "active" {
		t.Fatalf("successors %v, want one due 2027-03-29T07:00:00Z (09:00 CEST)", succ)
	}
	// Lists: skipped only under status=skipped (and all).
	list := func(q string) []string {
		r := s.do("GET", "/api/tasks?"+q, "alice", "")
		if r.Status != http.StatusOK {
			t.Fatalf("list %s: %d %s", q, r.Status, r.Body)
		}
		var ids []string
		for _, it := range r.json(t)["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		return ids
	}
	if l := list("status=skipped"); !slices.Equal(l, []string{id}) {
		t.Errorf("status=skipped: %v", l)
	}
	if l := list("status=active"); slices.Contains(l, id) || len(l) != 1 {
		t.Errorf("status=active: %v", l)
	}
	if l := list("status=completed"); len(l) != 0 {
		t.Errorf("status=completed: %v", l)
	}
	if l := list("status=all"); len(l) != 2 {
		t.Errorf("status=all: %v", l)
	}
	if l := list("overdue=true"); slices.Contains(l, id) {
		t.Errorf("a skipped occurrence is overdue: %v", l)
	}
	// The history tells it as a skip.
	h := s.do("GET", "/api/tasks/"+id+"/history", "alice", "")
	var hist struct {
		Items []struct {
			Type    string                   `json:"type"`
			Changes map[string]events.Change `json:"changes"`
		} `json:"items"`
	}
	if err := json.Unmarshal(h.Body, &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist.Items) != 2 || hist.Items[1].Type != events.TaskSkipped ||
		string(hist.Items[1].Changes["status"].To) != `"skipped"` || string(hist.Items[1].Changes["status"].From) != `"active"` {
		t.Errorf("history %s", h.Body)
	}
	// Reopened like a completed task; skipping again makes no second successor.
	if r := s.do("PATCH", "/api/tasks/"+id, "alice", `{"status":"active"}`); r.Status != http.StatusOK || r.json(t)["status"] != "active" {
		t.Fatalf("reopen: %d %s", r.Status, r.Body)
	}
	if r := s.do("POST", "/api/tasks/"+id+"/skip", "alice", ""); r.Status != http.StatusOK {
		t.Fatalf("skip again: %d %s", r.Status, r.Body)
	}
	s.deliver(1)
	if n := s.rows(`SELECT count(*) FROM tasks WHERE predecessor_id = '` + id + `'`); n != 1 {
		t.Errorf("%d successors after reopening and skipping again, want 1", n)
	}
	// A status of skipped is set by the skip endpoint only.
	s.expect(s.do("PATCH", "/api/tasks/"+id, "alice", `{"status":"skipped"}`), http.StatusBadRequest, "invalid_request")
}

// TestSkipRefusals: a task that does not recur or is completed cannot be
// skipped (409), another user's or a missing one is not found, and
// If-Match holds as on complete.
func TestSkipRefusals(t *testing.T) {
	s := newSeriesAPI(t)
	plain := s.create("alice", `{"title":"once","due_date":"2031-05-04T09:00:00Z"}`)["id"].(string)
	s.expect(s.do("POST", "/api/tasks/"+plain+"/skip", "alice", ""), http.StatusConflict, "conflict")
	series := s.create("alice", `{"title":"daily","due_date":"2031-05-04T09:00:00Z","recurrence_pattern":{"frequency":"daily"}}`)
	id := series["id"].(string)
	s.expect(s.do("POST", "/api/tasks/"+id+"/skip", "bob", ""), http.StatusNotFound, "not_found")
	s.expect(s.do("POST", "/api/tasks/0193f0c2-0000-7000-8000-000000000000/skip", "alice", ""), http.StatusNotFound, "not_found")
	s.expect(s.do("POST", "/api/tasks/"+id+"/skip", "alice", "", `If-Match: "999"`), http.StatusPreconditionFailed, "")
	if r := s.do("PATCH", "/api/tasks/"+id+"/complete", "alice", ""); r.Status != http.StatusOK {
		t.Fatalf("complete: %d", r.Status)
	}
	s.expect(s.do("POST", "/api/tasks/"+id+"/skip", "alice", ""), http.StatusConflict, "conflict")
	if st := s.get(id)["status"]; st != "completed" {
		t.Errorf("a refused skip left status %v", st)
	}
	// The /api/{user_id}/ style serves it too.
	other := s.create("alice", `{"title":"weekly","due_date":"2031-05-04T09:00:00Z","recurrence_pattern":{"frequency":"weekly"}}`)["id"].(string)
	if r := s.do("POST", "/api/alice/tasks/"+other+"/skip", "alice", ""); r.Status != http.StatusOK {
		t.Errorf("skip by the user path: %d %s", r.Status, r.Body)
	}
}

// TestEndSeries: the occurrence stays, stops recurring and keeps its
// series_id, with a task.updated event carrying what it was; completing it
// then makes no successor. A task that does not recur, or is done, cannot
// end its series (409); another user's: 404.
func TestEndSeries(t *testing.T) {
	s := newSeriesAPI(t)
	first := s.create("alice", `{"title":"course","due_date":"2031-05-04T18:00:00+02:00",
		"recurrence_pattern":{"frequency":"weekly","timezone":"Europe/Berlin"}}`)
	id := first["id"].(string)
	s.expect(s.do("POST", "/api/tasks/"+id+"/end-series", "bob", ""), http.StatusNotFound, "not_found")
	r := s.do("POST", "/api/tasks/"+id+"/end-series", "alice", "")
	if r.Status != http.StatusOK {
		t.Fatalf("end-series: %d %s", r.Status, r.Body)
	}
	ended := r.json(t)
	if ended["is_recurring"] != false || ended["recurrence_pattern"] != nil || ended["series_id"] != first["series_id"] ||
		ended["status"] != "active" || ended["due_date"] != first["due_date"] || ended["title"] != "course" {
		t.Errorf("ended %v", ended)
	}
	if ev := s.eventsOf(id); !slices.Equal(ev, []string{events.TaskCreated, events.TaskUpdated}) {
		t.Errorf("events %v", ev)
	}
	for _, e := range s.outbox() {
		if e.Type == events.TaskUpdated {
			var d events.TaskData
			_ = json.Unmarshal(e.Data, &d)
			if d.Previous == nil || !d.Previous.IsRecurring || d.Previous.Recurrence == nil || d.Task.IsRecurring {
				t.Errorf("task.updated %s", e.Data)
			}
		}
	}
	s.expect(s.do("POST", "/api/tasks/"+id+"/end-series", "alice", ""), http.StatusConflict, "conflict")
	if r := s.do("PATCH", "/api/tasks/"+id+"/complete", "alice", ""); r.Status != http.StatusOK {
		t.Fatalf("complete: %d", r.Status)
	}
	s.deliver(2)
	if n := s.rows(`SELECT count(*) FROM tasks`); n != 1 {
		t.Errorf("%d tasks after completing the last occurrence, want 1", n)
	}
	done := s.create("alice", `{"title":"d","due_date":"2031-05-04T09:00:00Z","recurrence_pattern":{"frequency":"daily"}}`)["id"].(string)
	s.do("PATCH", "/api/tasks/"+done+"/complete", "alice", "")
	s.expect(s.do("POST", "/api/tasks/"+done+"/end-series", "alice", ""), http.StatusConflict, "conflict")
	skipped := s.create("alice", `{"title":"s","due_date":"2031-05-04T09:00:00Z","recurrence_pattern":{"frequency":"daily"}}`)["id"].(string)
	s.do("POST", "/api/tasks/"+skipped+"/skip", "alice", "")
	s.expect(s.do("POST", "/api/tasks/"+skipped+"/end-series", "alice", ""), http.StatusConflict, "conflict")
	if !strings.Contains(string(s.do("POST", "/api/tasks/"+skipped+"/end-series", "alice", "").Body), "next occurrence") {
		t.Error("the 409 does not say where the series goes on")
	}
}

// TestEndSeriesWinsOverACompletionInFlight: a completion whose task.completed
// has not reached the recurrence function yet, then a reopen and the end of
// the series: the successor is not made, since the function finds (under
// the predecessor's row lock) that the series has ended. Had the successor
// been made first, the end would find it made; either way, never two.
func TestEndSeriesWinsOverACompletionInFlight(t *testing.T) {
	s := newSeriesAPI(t)
	id := s.create("alice", `{"title":"t","due_date":"2031-05-04T09:00:00Z","recurrence_pattern":{"frequency":"daily"}}`)["id"].(string)
	for _, step := range []struct{ method, path, body string }{
		{"PATCH", "/complete", ""}, {"PATCH", "", `{"status":"active"}`}, {"POST", "/end-series", ""},
		{"PATCH", "/complete", ""},
	} {
		if r := s.do(step.method, "/api/tasks/"+id+step.path, "alice", step.body); r.Status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", step.method, step.path, r.Status, r.Body)
		}
	}
	s.deliver(2)
	if n := s.rows(`SELECT count(*) FROM tasks`); n != 1 {
		t.Errorf("%d tasks, want 1: the ended series made a successor", n)
	}
}

// TestRepeatFromShownForOlderSeries: a pattern stored before repeat_from
// existed reads as "due", and a PATCH that sends it unchanged does not start
// the series afresh (it is the same pattern).
func TestRepeatFromShownForOlderSeries(t *testing.T) {
	s := newSeriesAPI(t)
	id := s.create("alice", `{"title":"old","due_date":"2031-05-04T09:00:00Z","recurrence_pattern":{"frequency":"daily"}}`)["id"].(string)
	s.exec(`UPDATE tasks SET recurrence = recurrence - 'repeat_from', occurrence = NULL WHERE id = $1`, id)
	got := s.get(id)
	if pattern(got)["repeat_from"] != "due" {
		t.Fatalf("older pattern %v", pattern(got))
	}
	r := s.do("PATCH", "/api/tasks/"+id, "alice", `{"recurrence_pattern":{"frequency":"daily","interval":1,"timezone":"UTC","repeat_from":"due"}}`)
	if r.Status != http.StatusOK || r.json(t)["updated_at"] != got["updated_at"] {
		t.Errorf("an unchanged pattern changed the task: %d %s", r.Status, r.Body)
	}
}
