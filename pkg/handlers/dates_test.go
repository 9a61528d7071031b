package handlers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// exec runs sql straight on the database (rows the API would never write).
func (a *api) exec(sql string, args ...any) {
	a.t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, a.db)
	if err != nil {
		a.t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		a.t.Fatal(err)
	}
}

// validJSON fails unless r's body is one JSON value.
func validJSON(t *testing.T, r resp) {
	t.Helper()
	if !json.Valid(r.Body) || len(strings.TrimSpace(string(r.Body))) == 0 {
		t.Fatalf("status %d with a body that is not JSON: %q", r.Status, r.Body)
	}
}

// TestDatesOutsideTheRangeAreRefused: every date field takes only instants
// that every place it goes can hold (1900-01-01T00:00:00Z..9999-12-31T23:59:59Z
// in UTC) and offsets RFC 3339 can write; the example answered 201
// with an empty body and broke the user's whole list.
func TestDatesOutsideTheRangeAreRefused(t *testing.T) {
	a := newAPI(t)
	id := a.create("alice", `{"title":"t"}`)["id"].(string)
	bad := []struct{ method, path, body, field string }{
		{"POST", "/api/tasks", `{"title":"x","due_date":"9999-12-31T23:59:59-23:59"}`, "due_date"},
		{"POST", "/api/tasks", `{"title":"x","due_date":"2027-01-01T00:00:00+24:00"}`, "due_date"},
		{"POST", "/api/tasks", `{"title":"x","due_date":"2027-01-01T00:00:00-23:60"}`, "due_date"},
		{"POST", "/api/tasks", `{"title":"x","due_date":"2027-01-01T00:00:00+05:60"}`, "due_date"},
		{"POST", "/api/tasks", `{"title":"x","due_date":"1899-12-31T23:59:59Z"}`, "due_date"},
		{"POST", "/api/tasks", `{"title":"x","due_date":"1900-01-01T00:30:00+01:00"}`, "due_date"},
		{"POST", "/api/tasks", `{"title":"x","reminder_time":"9999-12-31T23:59:59.5Z"}`, "reminder_time"},
		{"POST", "/api/tasks", `{"title":"x","due_date":"2027-01-01T00:00:00Z","recurrence_pattern":{"frequency":"daily","end_date":"9999-12-31T23:59:59-01:00"}}`, "recurrence_pattern.end_date"},
		{"PUT", "/api/tasks/" + id, `{"title":"x","due_date":"9999-12-31T23:59:59-23:59"}`, "due_date"},
		{"PATCH", "/api/tasks/" + id, `{"due_date":"9999-12-31T23:59:59-23:59"}`, "due_date"},
		{"GET", "/api/tasks?due_before=9999-12-31T23:59:59-23:59", "", "due_before"},
		{"GET", "/api/tasks/search?q=x&due_after=2027-01-01T00:00:00%2B24:00", "", "due_after"},
	}
	for _, c := range bad {
		r := a.do(c.method, c.path, "alice", c.body)
		a.expect(r, 400, "invalid_request")
		if f, _ := r.json(t)["error"].(map[string]any)["fields"].(map[string]any); f[c.field] == nil {
			t.Errorf("%s %s %s: no error for %s: %s", c.method, c.path, c.body, c.field, r.Body)
		}
	}
	if n := a.rows("SELECT count(*) FROM tasks"); n != 1 {
		t.Errorf("%d tasks, want only the first", n)
	}
	// The bounds themselves are accepted and round-trip everywhere.
	for _, due := range []string{"9999-12-31T23:59:59Z", "9999-12-31T23:59:59+23:59", "1900-01-01T00:00:00Z"} {
		c := a.create("alice", `{"title":"edge","due_date":"`+due+`","reminder_time":"`+due+`"}`)
		r := a.do("GET", "/api/tasks/"+c["id"].(string), "alice", "")
		a.expect(r, 200, "")
		validJSON(t, r)
	}
	r := a.do("GET", "/api/tasks?sort=due_date", "alice", "")
	a.expect(r, 200, "")
	validJSON(t, r)
	if items := r.json(t)["items"].([]any); len(items) != 4 {
		t.Errorf("list: %s", r.Body)
	}
	if n := a.rows("SELECT count(*) FROM outbox WHERE data = '' OR data IS NULL"); n != 0 {
		t.Errorf("%d events without data", n)
	}
}

// TestStoredOutOfRangeRowsDoNotBreakTheList: a row written before the range
// was enforced (due in the year 10000) is shown at the bound; GET, the list
// and its pages keep answering JSON, and paging by due date lists each such
// row exactly once.
func TestStoredOutOfRangeRowsDoNotBreakTheList(t *testing.T) {
	a := newAPI(t)
	var ids []string
	for range 3 {
		ids = append(ids, a.create("alice", `{"title":"far","due_date":"2027-01-01T00:00:00Z"}`)["id"].(string))
	}
	a.create("alice", `{"title":"near","due_date":"2026-01-01T00:00:00Z"}`)
	a.exec(`UPDATE tasks SET due_date = '10000-01-01T00:00:00Z'::timestamptz + (interval '1 hour' * version),
		reminder_time = '0100-01-01T00:00:00Z' WHERE title = 'far'`)
	r := a.do("GET", "/api/tasks/"+ids[0], "alice", "")
	a.expect(r, 200, "")
	validJSON(t, r)
	if m := r.json(t); m["due_date"] != "9999-12-31T23:59:59Z" || m["reminder_time"] != "1900-01-01T00:00:00Z" {
		t.Errorf("out-of-range dates shown as %v, %v", m["due_date"], m["reminder_time"])
	}
	for _, order := range []string{"asc", "desc"} {
		seen := map[string]int{}
		cursor := ""
		for page := 0; page < 10; page++ {
			r := a.do("GET", "/api/tasks?sort=due_date&limit=1&order="+order+cursor, "alice", "")
			a.expect(r, 200, "")
			validJSON(t, r)
			m := r.json(t)
			for _, it := range m["items"].([]any) {
				seen[it.(map[string]any)["id"].(string)]++
			}
			next, _ := m["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = "&cursor=" + next
		}
		if len(seen) != 4 {
			t.Errorf("order %s: paging saw %d tasks, want 4: %v", order, len(seen), seen)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("order %s: %s listed %d times", order, id, n)
			}
		}
	}
	// A change to such a task stores it at the bound, with its events' data.
	r = a.do("PATCH", "/api/tasks/"+ids[1], "alice", `{"title":"renamed"}`)
	a.expect(r, 200, "")
	validJSON(t, r)
	if n := a.rows("SELECT count(*) FROM outbox WHERE data = '' OR data IS NULL"); n != 0 {
		t.Errorf("%d events without data", n)
	}
}
