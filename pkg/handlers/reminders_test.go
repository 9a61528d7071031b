package handlers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/store"
)

// The example through the API: several reminders, relative ones
// moving with the due date, every error at once, and the rows.
func TestSeveralRemindersAPI(t *testing.T) {
	a := newAPI(t)
	tk := a.create("alice", `{"title":"Dentist","due_date":"2027-03-01T09:00:00Z",
		"reminders":[{"before_due":"PT15M"},{"at":"2027-02-28T18:00:00Z"},{"before_due":"P1D"}]}`)
	rs, _ := json.Marshal(tk["reminders"])
	if string(rs) != `[{"at":"2027-02-28T09:00:00Z","before_due":"P1D"},{"at":"2027-02-28T18:00:00Z"},{"at":"2027-03-01T08:45:00Z","before_due":"PT15M"}]` ||
		tk["reminder_time"] != "2027-02-28T09:00:00Z" {
		t.Fatalf("created: %s, reminder_time %v", rs, tk["reminder_time"])
	}
	id := tk["id"].(string)
	r := a.do("PATCH", "/api/tasks/"+id, "alice", `{"due_date":"2027-03-02T09:00:00Z"}`)
	a.expect(r, 200, "")
	if got := r.json(t); got["reminder_time"] != "2027-02-28T18:00:00Z" {
		t.Errorf("after moving the due date: %s", r.Body)
	}
	if n := a.rows(`SELECT count(*) FROM tasks WHERE reminder_times = ARRAY['2027-02-28T18:00:00Z','2027-03-01T09:00:00Z','2027-03-02T08:45:00Z']::timestamptz[]
		AND reminder_time = '2027-02-28T18:00:00Z'`); n != 1 {
		t.Errorf("stored instants do not follow the due date")
	}
	// A task read back is taken back unchanged (reminder_time agrees).
	body := a.do("GET", "/api/tasks/"+id, "alice", "").Body
	a.expect(a.do("PUT", "/api/tasks/"+id, "alice", string(body)), 200, "")
	// Bad input: 400 with every field, nothing changes.
	r = a.do("PATCH", "/api/tasks/"+id, "alice", `{"reminders":[{"before_due":"P1M"},{"at":"2027-03-09T00:00:00Z"},{"x":1}],"reminder_time":"2027-01-01T00:00:00Z"}`)
	a.expect(r, 400, "invalid_request")
	for _, f := range []string{"reminders[0].before_due", "reminders[2].x"} {
		if !strings.Contains(string(r.Body), f) {
			t.Errorf("error lacks %s: %s", f, r.Body)
		}
	}
	a.expect(a.do("PATCH", "/api/tasks/"+id, "alice", `{"reminders":[{"at":"2027-03-01T08:00:00Z"},{"at":"2027-03-01T08:01:00Z"},
		{"at":"2027-03-01T08:02:00Z"},{"at":"2027-03-01T08:03:00Z"},{"at":"2027-03-01T08:04:00Z"},{"at":"2027-03-01T08:05:00Z"}]}`), 400, "invalid_request")
	a.expect(a.do("PATCH", "/api/tasks/"+id, "alice", `{"due_date":null}`), 400, "invalid_request")
	a.expect(a.do("PATCH", "/api/tasks/"+id, "bob", `{"reminders":[]}`), 404, "not_found")
	if n := a.rows(`SELECT count(*) FROM tasks WHERE cardinality(reminder_times) = 3`); n != 1 {
		t.Errorf("a refused change was stored")
	}
	// reminder_time alone replaces them all with one; the event says so.
	r = a.do("PATCH", "/api/tasks/"+id, "alice", `{"reminder_time":"2027-03-02T08:00:00Z"}`)
	a.expect(r, 200, "")
	if rs, _ := json.Marshal(r.json(t)["reminders"]); string(rs) != `[{"at":"2027-03-02T08:00:00Z"}]` {
		t.Errorf("reminder_time alone: %s", rs)
	}
	if n := a.rows(`SELECT count(*) FROM outbox WHERE type = 'dev.taskflow.task.updated' AND subject = '` + id + `'
		AND data::jsonb->'task'->'reminders'->0->>'at' = '2027-03-02T08:00:00Z'`); n != 1 {
		t.Errorf("task.updated lacks the reminders")
	}
}

// Snooze: good, bad, another user's, a gone task; the snooze row and its
// event are stored together.
func TestSnoozeAPI(t *testing.T) {
	a := newAPI(t)
	st, err := store.Open(context.Background(), a.db, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tk := a.create("alice", `{"title":"Call Bob","reminder_time":"2027-03-01T08:00:00Z"}`)
	gone := a.create("alice", `{"title":"Gone","reminder_time":"2027-03-01T08:00:00Z"}`)
	notify := func(taskID string) string {
		n, _, _, err := st.Notify(context.Background(), events.Notification{UserID: "alice", TaskID: taskID, Title: "x", Message: "m",
			RemindAt: time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC), DeliveredAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return n.ID
	}
	nid, goneID := notify(tk["id"].(string)), notify(gone["id"].(string))
	before := time.Now()
	r := a.do("POST", "/api/notifications/"+nid+"/snooze", "alice", `{"minutes":10}`)
	a.expect(r, 200, "")
	u, _ := time.Parse(time.RFC3339Nano, r.json(t)["snoozed_until"].(string))
	if u.Before(before.Add(10*time.Minute)) || u.After(time.Now().Add(10*time.Minute)) {
		t.Errorf("snoozed_until %v", u)
	}
	until := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	r = a.do("POST", "/api/notifications/"+nid+"/snooze", "alice", `{"until":"`+until+`"}`)
	a.expect(r, 200, "")
	if r.json(t)["snoozed_until"] != until {
		t.Errorf("snoozing again: %s", r.Body)
	}
	if n := a.rows(`SELECT count(*) FROM notification_snoozes WHERE until = '` + until + `' AND fired_at IS NULL`); n != 1 {
		t.Errorf("one pending snooze, moved: %d", n)
	}
	if n := a.rows(`SELECT count(*) FROM outbox WHERE type = 'dev.taskflow.reminder.snoozed' AND data::jsonb->>'notification_id' = '` + nid + `'`); n != 2 {
		t.Errorf("%d reminder.snoozed events, want 2", n)
	}
	if items := a.do("GET", "/api/notifications", "alice", "").json(t)["items"].([]any); !strings.Contains(mustJSON(items), until) {
		t.Errorf("list lacks snoozed_until")
	}
	for _, body := range []string{`{}`, `{"minutes":0}`, `{"minutes":10081}`, `{"minutes":5,"until":"` + until + `"}`,
		`{"until":"2020-01-01T00:00:00Z"}`, `{"until":"` + time.Now().Add(31*24*time.Hour).UTC().Format(time.RFC3339) + `"}`, `{"minutes":5,"x":1}`, `[]`} {
		a.expect(a.do("POST", "/api/notifications/"+nid+"/snooze", "alice", body), 400, "invalid_request")
	}
	a.expect(a.do("POST", "/api/notifications/"+nid+"/snooze", "bob", `{"minutes":10}`), 404, "not_found")
	a.expect(a.do("POST", "/api/notifications/0193f0c2-0000-7000-8000-000000000009/snooze", "alice", `{"minutes":10}`), 404, "not_found")
	a.expect(a.do("DELETE", "/api/tasks/"+gone["id"].(string), "alice", ""), 204, "")
	a.expect(a.do("POST", "/api/notifications/"+goneID+"/snooze", "alice", `{"minutes":10}`), 409, "conflict")
	a.expect(a.do("PATCH", "/api/tasks/"+tk["id"].(string)+"/complete", "alice", ""), 200, "")
	a.expect(a.do("POST", "/api/notifications/"+nid+"/snooze", "alice", `{"minutes":10}`), 409, "conflict")
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
