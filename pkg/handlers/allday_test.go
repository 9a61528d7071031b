package handlers_test

import (
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/store/storetest"
)

// newAPIAt is newAPI with a clock the test sets.
func newAPIAt(t *testing.T, now *atomic.Pointer[time.Time]) *api {
	t.Helper()
	st, url := storetest.New(t)
	h, d := serveEvery(t, st)
	d.Now = func() time.Time { return *now.Load() }
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &api{t: t, srv: srv, db: url}
}

// TestSettingsGoodBadAndIsolated: GET /api/settings answers the defaults
// until PATCH changes the fields sent; bad zones, times and unknown fields
// are 400 with every field error and change nothing; one user's settings are
// not another's.
func TestSettingsGoodBadAndIsolated(t *testing.T) {
	a := newAPI(t)
	r := a.do("GET", "/api/settings", "alice", "")
	a.expect(r, 200, "")
	if m := r.json(t); m["timezone"] != "UTC" || m["all_day_reminder_time"] != "00:00" {
		t.Fatalf("defaults: %v", m)
	}
	r = a.do("PATCH", "/api/settings", "alice", `{"timezone":"Europe/Berlin"}`)
	a.expect(r, 200, "")
	r = a.do("PATCH", "/api/settings", "alice", `{"all_day_reminder_time":"09:00"}`)
	a.expect(r, 200, "")
	if m := r.json(t); m["timezone"] != "Europe/Berlin" || m["all_day_reminder_time"] != "09:00" {
		t.Fatalf("after two patches: %v", m)
	}
	for _, body := range []string{
		`{"timezone":"Mars/Olympus","all_day_reminder_time":"9:00","colour":"red"}`,
		`{"timezone":"Local"}`, `{"timezone":"posix/Europe/Berlin"}`, `{"timezone":"right/UTC"}`, `{"timezone":"localtime"}`,
		`{"timezone":null}`, `{"timezone":""}`, `{"all_day_reminder_time":"24:00"}`, `{"all_day_reminder_time":"09:60"}`,
		`{"all_day_reminder_time":"09:00:00"}`, `{"all_day_reminder_time":900}`, `[]`,
	} {
		r := a.do("PATCH", "/api/settings", "alice", body)
		a.expect(r, 400, "invalid_request")
	}
	f := fields(t, a.do("PATCH", "/api/settings", "alice", `{"timezone":"Mars/Olympus","all_day_reminder_time":"9:00","colour":"red"}`))
	for _, k := range []string{"timezone", "all_day_reminder_time", "colour"} {
		if f[k] == nil {
			t.Errorf("no field error for %s: %v", k, f)
		}
	}
	if m := a.do("GET", "/api/settings", "alice", "").json(t); m["timezone"] != "Europe/Berlin" || m["all_day_reminder_time"] != "09:00" {
		t.Fatalf("bad patches changed something: %v", m)
	}
	if m := a.do("GET", "/api/settings", "bob", "").json(t); m["timezone"] != "UTC" || m["all_day_reminder_time"] != "00:00" {
		t.Fatalf("bob sees alice's settings: %v", m)
	}
	a.expect(a.do("GET", "/api/bob/settings", "alice", ""), 403, "")
	a.expect(a.do("GET", "/api/settings", "", ""), 401, "")
}

// TestAllDayDueDate: the example. "due_date": "2031-05-04" makes the
// task all-day; it reads back as that date, is placed at the start of the
// day in the user's zone, and bad dates are 400s.
func TestAllDayDueDate(t *testing.T) {
	a := newAPI(t)
	a.expect(a.do("PATCH", "/api/settings", "alice", `{"timezone":"Europe/Berlin"}`), 200, "")
	m := a.create("alice", `{"title":"Pay rent","due_date":"2031-05-04"}`)
	if m["due_date"] != "2031-05-04" {
		t.Fatalf("due_date: %v", m["due_date"])
	}
	id := m["id"].(string)
	got := a.do("GET", "/api/tasks/"+id, "alice", "").json(t)
	if got["due_date"] != "2031-05-04" {
		t.Fatalf("GET due_date: %v", got["due_date"])
	}
	if n := a.rows(`SELECT count(*) FROM tasks WHERE due_date = '2031-05-03T22:00:00Z' AND due_end = '2031-05-04T22:00:00Z'
		AND due_day = '2031-05-04' AND due_zone = 'Europe/Berlin'`); n != 1 {
		t.Fatalf("stored day: %d rows", n)
	}
	// Bob's zone is UTC: the same date is another day's instants.
	a.create("bob", `{"title":"Pay rent","due_date":"2031-05-04"}`)
	if n := a.rows(`SELECT count(*) FROM tasks WHERE user_id = 'bob' AND due_date = '2031-05-04T00:00:00Z'`); n != 1 {
		t.Fatalf("bob's day: %d rows", n)
	}
	a.expect(a.do("GET", "/api/tasks/"+id, "bob", ""), 404, "")
	for _, body := range []string{
		`{"title":"x","due_date":"2031-02-30"}`, `{"title":"x","due_date":"2031-13-01"}`, `{"title":"x","due_date":"31-05-04"}`,
		`{"title":"x","due_date":"2031-5-4"}`, `{"title":"x","due_date":"2031-05-04T"}`, `{"title":"x","due_date":"1899-12-31"}`,
		`{"title":"x","due_date":"2031-05-04","reminder_time":"2031-05-04T22:00:00Z"}`,
	} {
		r := a.do("POST", "/api/tasks", "alice", body)
		a.expect(r, 400, "invalid_request")
		f := fields(t, r)
		if f["due_date"] == nil && f["reminder_time"] == nil {
			t.Errorf("%s: no field error: %s", body, r.Body)
		}
	}
	// A reminder up to the end of the day (in Berlin) is accepted.
	r := a.do("POST", "/api/tasks", "alice", `{"title":"x","due_date":"2031-05-04","reminder_time":"2031-05-04T21:59:00Z"}`)
	a.expect(r, 201, "")
	a.expect(a.do("PATCH", "/api/tasks/"+id, "alice", `{"due_date":"2031-02-29"}`), 400, "invalid_request")
	if got := a.do("GET", "/api/tasks/"+id, "alice", "").json(t); got["due_date"] != "2031-05-04" {
		t.Fatalf("a refused patch changed the date: %v", got["due_date"])
	}
}

// TestSwitchTimedAndAllDay: PATCH and PUT move a task between a timed and an
// all-day due date, both ways.
func TestSwitchTimedAndAllDay(t *testing.T) {
	a := newAPI(t)
	a.expect(a.do("PATCH", "/api/settings", "alice", `{"timezone":"America/Los_Angeles"}`), 200, "")
	id := a.create("alice", `{"title":"t","due_date":"2031-05-04T09:00:00Z"}`)["id"].(string)
	r := a.do("PATCH", "/api/tasks/"+id, "alice", `{"due_date":"2031-05-06"}`)
	a.expect(r, 200, "")
	if m := r.json(t); m["due_date"] != "2031-05-06" {
		t.Fatalf("to all-day: %v", m["due_date"])
	}
	if n := a.rows(`SELECT count(*) FROM tasks WHERE due_date = '2031-05-06T07:00:00Z' AND due_day IS NOT NULL`); n != 1 {
		t.Fatalf("all-day row: %d", n)
	}
	r = a.do("PATCH", "/api/tasks/"+id, "alice", `{"due_date":"2031-05-06T10:00:00-07:00"}`)
	a.expect(r, 200, "")
	if m := r.json(t); m["due_date"] != "2031-05-06T17:00:00Z" {
		t.Fatalf("back to timed: %v", m["due_date"])
	}
	if n := a.rows(`SELECT count(*) FROM tasks WHERE due_day IS NULL AND due_end IS NULL AND due_zone IS NULL`); n != 1 {
		t.Fatalf("timed row keeps all-day columns: %d", n)
	}
	r = a.do("PUT", "/api/tasks/"+id, "alice", `{"title":"t","due_date":"2031-06-01"}`)
	a.expect(r, 200, "")
	if m := r.json(t); m["due_date"] != "2031-06-01" {
		t.Fatalf("PUT all-day: %v", m["due_date"])
	}
	r = a.do("PUT", "/api/tasks/"+id, "alice", `{"title":"t"}`)
	a.expect(r, 200, "")
	if m := r.json(t); m["due_date"] != nil {
		t.Fatalf("PUT without a date: %v", m["due_date"])
	}
}

// TestAllDayOverdueAtMidnight: an all-day task is overdue only once its date
// has ended in its zone, to the microsecond, in zones on both sides of UTC.
func TestAllDayOverdueAtMidnight(t *testing.T) {
	var now atomic.Pointer[time.Time]
	a := newAPIAt(t, &now)
	set := func(s string) {
		v, _ := time.Parse(time.RFC3339Nano, s)
		now.Store(&v)
	}
	set("2031-01-01T00:00:00Z")
	for _, c := range []struct{ user, zone, end string }{
		{"alice", "Pacific/Auckland", "2031-05-04T12:00:00Z"},  // NZST, +12:00
		{"bob", "America/Los_Angeles", "2031-05-05T07:00:00Z"}, // PDT, -07:00
	} {
		a.expect(a.do("PATCH", "/api/settings", c.user, `{"timezone":"`+c.zone+`"}`), 200, "")
		a.create(c.user, `{"title":"all day","due_date":"2031-05-04"}`)
		end, _ := time.Parse(time.RFC3339, c.end)
		overdue := func(at time.Time) []string {
			now.Store(&at)
			r := a.do("GET", "/api/tasks?overdue=true", c.user, "")
			a.expect(r, 200, "")
			var titles []string
			for _, it := range r.json(t)["items"].([]any) {
				titles = append(titles, it.(map[string]any)["title"].(string))
			}
			return titles
		}
		// During the whole day (and just before it ends) the task is not overdue.
		for _, at := range []time.Time{end.Add(-24 * time.Hour), end.Add(-time.Hour), end.Add(-time.Microsecond)} {
			if got := overdue(at); len(got) != 0 {
				t.Errorf("%s at %s: overdue %v", c.zone, at, got)
			}
		}
		if got := overdue(end); len(got) != 1 {
			t.Errorf("%s at the day's end %s: overdue %v", c.zone, end, got)
		}
	}
}

// TestAllDaySortsWithItsDay: sorted by due date, an all-day task comes with
// the timed tasks of its day in its zone, before them, and after the day before's.
func TestAllDaySortsWithItsDay(t *testing.T) {
	a := newAPI(t)
	a.expect(a.do("PATCH", "/api/settings", "alice", `{"timezone":"Europe/Berlin"}`), 200, "")
	a.create("alice", `{"title":"noon","due_date":"2031-05-04T12:00:00+02:00"}`)
	a.create("alice", `{"title":"next day","due_date":"2031-05-05T00:00:00+02:00"}`)
	a.create("alice", `{"title":"all day","due_date":"2031-05-04"}`)
	a.create("alice", `{"title":"eve","due_date":"2031-05-03T23:30:00+02:00"}`)
	a.create("alice", `{"title":"early","due_date":"2031-05-04T00:30:00+02:00"}`)
	got := strings.Join(a.titles("/api/tasks?sort=due_date&limit=2"), ",")
	if want := "eve,all day,early,noon,next day"; got != want {
		t.Fatalf("order %s, want %s", got, want)
	}
	got = strings.Join(a.titles("/api/tasks?sort=due_date&order=desc"), ",")
	if want := "next day,noon,early,all day,eve"; got != want {
		t.Fatalf("desc order %s, want %s", got, want)
	}
	// due_after/due_before compare the day's start.
	got = strings.Join(a.titles("/api/tasks?sort=due_date&due_after=2031-05-03T22:00:00Z&due_before=2031-05-03T22:00:00Z"), ",")
	if got != "all day" {
		t.Fatalf("bounds at the day's start: %s", got)
	}
}

// TestAllDayPreview: a date due_date previews a DATE series, in dates, across
// a DST change (Europe/Berlin, 2031-03-30).
func TestAllDayPreview(t *testing.T) {
	a := newAPI(t)
	r := a.do("POST", "/api/recurrence/preview", "alice",
		`{"due_date":"2031-03-28","recurrence_pattern":{"frequency":"daily","timezone":"Europe/Berlin"},"count":4}`)
	a.expect(r, 200, "")
	occ := r.json(t)["occurrences"].([]any)
	var dates, ats []string
	for _, o := range occ {
		m := o.(map[string]any)
		dates = append(dates, m["date"].(string))
		ats = append(ats, m["at"].(string))
	}
	if got := strings.Join(dates, ","); got != "2031-03-28,2031-03-29,2031-03-30,2031-03-31" {
		t.Fatalf("dates %s", got)
	}
	if got := strings.Join(ats, ","); got != "2031-03-27T23:00:00Z,2031-03-28T23:00:00Z,2031-03-29T23:00:00Z,2031-03-30T22:00:00Z" {
		t.Fatalf("day starts %s", got)
	}
	a.expect(a.do("POST", "/api/recurrence/preview", "alice",
		`{"due_date":"2031-02-29","recurrence_pattern":{"frequency":"daily"}}`), 400, "invalid_request")
}
