package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

// newPreviewAPI serves the preview and, to compare refusals with, create. No
// store: the preview never touches one, and create refuses bad bodies before
// it would (a good create body would fail here, and is never sent).
func newPreviewAPI(t *testing.T) *api {
	t.Helper()
	v, err := auth.NewVerifier(context.Background(), auth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := &fn.Deps{Log: log, Now: time.Now}
	srv := httptest.NewServer(fn.LimitBody(fn.API(v, log, append(handlers.Preview(d), handlers.Create(d)...))))
	t.Cleanup(srv.Close)
	return &api{t: t, srv: srv}
}

type occurrence struct{ At, Local, Offset, Weekday, Timezone string }

func (a *api) preview(body string) []occurrence {
	a.t.Helper()
	r := a.do("POST", "/api/recurrence/preview", "alice", body)
	a.expect(r, 200, "")
	var out struct{ Occurrences []occurrence }
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil || out.Occurrences == nil {
		a.t.Fatalf("preview body %s: %v", r.Body, err)
	}
	return out.Occurrences
}

// TestPreviewExamples: every example of API.md §5, previewed. Each
// occurrence is the UTC instant and the wall clock, offset and weekday in
// the pattern's zone.
func TestPreviewExamples(t *testing.T) {
	a := newPreviewAPI(t)
	cases := []struct {
		name, due, pattern string
		count              int
		want               []occurrence // At, Local, Offset, Weekday (Timezone checked apart)
	}{
		{"occurrences: 3 on Wednesdays, first due on a Sunday", "2030-06-02T09:00:00Z",
			`{"frequency":"weekly","days_of_week":[3],"occurrences":3}`, 5, []occurrence{
				{"2030-06-02T09:00:00Z", "2030-06-02T09:00:00", "+00:00", "Sunday", ""},
				{"2030-06-05T09:00:00Z", "2030-06-05T09:00:00", "+00:00", "Wednesday", ""},
				{"2030-06-12T09:00:00Z", "2030-06-12T09:00:00", "+00:00", "Wednesday", ""},
			}},
		{"the same as an rrule", "2030-06-02T09:00:00Z", `{"rrule":"FREQ=WEEKLY;BYDAY=WE;COUNT=3"}`, 50, []occurrence{
			{"2030-06-02T09:00:00Z", "2030-06-02T09:00:00", "+00:00", "Sunday", ""},
			{"2030-06-05T09:00:00Z", "2030-06-05T09:00:00", "+00:00", "Wednesday", ""},
			{"2030-06-12T09:00:00Z", "2030-06-12T09:00:00", "+00:00", "Wednesday", ""},
		}},
		{"DST gap: 02:30 that does not exist is 03:30 new time", "2030-03-08T10:30:00Z",
			`{"frequency":"daily","timezone":"America/Los_Angeles"}`, 4, []occurrence{
				{"2030-03-08T10:30:00Z", "2030-03-08T02:30:00", "-08:00", "Friday", ""},
				{"2030-03-09T10:30:00Z", "2030-03-09T02:30:00", "-08:00", "Saturday", ""},
				{"2030-03-10T10:30:00Z", "2030-03-10T03:30:00", "-07:00", "Sunday", ""},
				{"2030-03-11T09:30:00Z", "2030-03-11T02:30:00", "-07:00", "Monday", ""},
			}},
		{"DST overlap: 01:30 that happens twice is the first", "2030-11-01T08:30:00Z",
			`{"frequency":"daily","timezone":"America/Los_Angeles"}`, 4, []occurrence{
				{"2030-11-01T08:30:00Z", "2030-11-01T01:30:00", "-07:00", "Friday", ""},
				{"2030-11-02T08:30:00Z", "2030-11-02T01:30:00", "-07:00", "Saturday", ""},
				{"2030-11-03T08:30:00Z", "2030-11-03T01:30:00", "-07:00", "Sunday", ""},
				{"2030-11-04T09:30:00Z", "2030-11-04T01:30:00", "-08:00", "Monday", ""},
			}},
		{"monthly on the 31st skips months without one", "2031-01-31T09:00:00Z",
			`{"frequency":"monthly","day_of_month":31}`, 5, []occurrence{
				{"2031-01-31T09:00:00Z", "2031-01-31T09:00:00", "+00:00", "Friday", ""},
				{"2031-03-31T09:00:00Z", "2031-03-31T09:00:00", "+00:00", "Monday", ""},
				{"2031-05-31T09:00:00Z", "2031-05-31T09:00:00", "+00:00", "Saturday", ""},
				{"2031-07-31T09:00:00Z", "2031-07-31T09:00:00", "+00:00", "Thursday", ""},
				{"2031-08-31T09:00:00Z", "2031-08-31T09:00:00", "+00:00", "Sunday", ""},
			}},
		{"-1 is the last day of every month", "2031-01-31T09:00:00Z",
			`{"frequency":"monthly","day_of_month":-1}`, 5, []occurrence{
				{"2031-01-31T09:00:00Z", "2031-01-31T09:00:00", "+00:00", "Friday", ""},
				{"2031-02-28T09:00:00Z", "2031-02-28T09:00:00", "+00:00", "Friday", ""},
				{"2031-03-31T09:00:00Z", "2031-03-31T09:00:00", "+00:00", "Monday", ""},
				{"2031-04-30T09:00:00Z", "2031-04-30T09:00:00", "+00:00", "Wednesday", ""},
				{"2031-05-31T09:00:00Z", "2031-05-31T09:00:00", "+00:00", "Saturday", ""},
			}},
		{"wall clock in another zone, count defaults to 5", "2031-05-04T07:00:00Z",
			`{"frequency":"weekly","interval":2,"timezone":"Europe/Berlin"}`, 0, []occurrence{
				{"2031-05-04T07:00:00Z", "2031-05-04T09:00:00", "+02:00", "Sunday", ""},
				{"2031-05-18T07:00:00Z", "2031-05-18T09:00:00", "+02:00", "Sunday", ""},
				{"2031-06-01T07:00:00Z", "2031-06-01T09:00:00", "+02:00", "Sunday", ""},
				{"2031-06-15T07:00:00Z", "2031-06-15T09:00:00", "+02:00", "Sunday", ""},
				{"2031-06-29T07:00:00Z", "2031-06-29T09:00:00", "+02:00", "Sunday", ""},
			}},
	}
	for _, c := range cases {
		body := `{"due_date":"` + c.due + `","recurrence_pattern":` + c.pattern
		if c.count != 0 {
			body += `,"count":` + strconv.Itoa(c.count)
		}
		got := a.preview(body + "}")
		zone := "UTC"
		if strings.Contains(c.pattern, "timezone") {
			var p struct{ Timezone string }
			_ = json.Unmarshal([]byte(c.pattern), &p)
			zone = p.Timezone
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %d occurrences %+v, want %d", c.name, len(got), got, len(c.want))
			continue
		}
		for i, w := range c.want {
			w.Timezone = zone
			if got[i] != w {
				t.Errorf("%s: occurrence %d is %+v, want %+v", c.name, i, got[i], w)
			}
		}
	}
	// count bounds the list; the series' end bounds it too.
	if got := a.preview(`{"due_date":"2030-01-01T00:00:00Z","recurrence_pattern":{"frequency":"daily"},"count":50}`); len(got) != 50 ||
		got[49].At != "2030-02-19T00:00:00Z" {
		t.Errorf("count 50 gave %d, last %+v", len(got), got[len(got)-1])
	}
	if got := a.preview(`{"due_date":"9999-12-29T00:00:00Z","recurrence_pattern":{"frequency":"daily"},"count":9}`); len(got) != 3 {
		t.Errorf("a series past 9999-12-31T23:59:59Z: %+v", got)
	}
}

// TestPreviewRefusesAsCreateDoes: a due date and pattern create refuses are
// refused by the preview with the same status and the same field errors;
// the preview's own fields are checked too; and it needs a token.
func TestPreviewRefusesAsCreateDoes(t *testing.T) {
	a := newPreviewAPI(t)
	for _, c := range []struct{ due, pattern string }{
		{`"2030-06-02T09:00:00Z"`, `{"frequency":"hourly"}`},
		{`"2030-06-02T09:00:00Z"`, `{"frequency":"daily","timezone":"Mars/Olympus_Mons"}`},
		{`"2030-06-02T09:00:00Z"`, `{"frequency":"daily","timezone":"Local"}`},
		{`"tomorrow"`, `{"frequency":"daily"}`},
		{`"tomorrow"`, `{"frequency":"daily","interval":0}`},
		{`"2030-06-02T09:00:00+24:00"`, `{"frequency":"daily"}`},
		{`"10000-01-01T00:00:00Z"`, `{"frequency":"daily"}`},
		{`"2030-06-02T09:00:00Z"`, `{"rrule":"FREQ=SECONDLY"}`},
		{`"2030-06-02T09:00:00Z"`, `{"rrule":"FREQ=DAILY","frequency":"daily"}`},
		{`"2030-06-02T09:00:00Z"`, `{"frequency":"daily","end_date":"2030-06-01T00:00:00Z"}`},
		{`"2030-06-02T09:00:00Z"`, `{"frequency":"daily","end_date":"2030-07-01T00:00:00Z","occurrences":3}`},
		{`"2030-06-02T09:00:00Z"`, `{"frequency":"daily","occurrences":0}`},
		{`"2030-06-02T09:00:00Z"`, `{"frequency":"monthly","days_of_week":[1,9]}`},
		{`"2030-06-02T09:00:00Z"`, `{"frequency":"yearly","month":2,"day_of_month":30}`},
		{`"2030-06-02T09:00:00Z"`, `{"rrule":"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}`},
		{`"2030-06-02T09:00:00Z"`, `{"frequency":"daily","colour":"red"}`},
		{`"2030-06-02T09:00:00Z"`, `{"frequency":"daily","interval":1,"interval":2}`},
		{`"2030-06-02T09:00:00Z"`, `{"frequency":"daily","timezone":"UTC\u0000"}`},
		{`"2030-06-02T09:00:00Z"`, `"daily"`},
	} {
		create := a.do("POST", "/api/tasks", "alice", `{"title":"t","due_date":`+c.due+`,"is_recurring":true,"recurrence_pattern":`+c.pattern+`}`)
		preview := a.do("POST", "/api/recurrence/preview", "alice", `{"due_date":`+c.due+`,"recurrence_pattern":`+c.pattern+`}`)
		a.expect(create, 400, "invalid_request")
		a.expect(preview, 400, "invalid_request")
		cf, pf := fields(t, create), fields(t, preview)
		if len(pf) == 0 || !maps.EqualFunc(cf, pf, func(x, y any) bool { return x == y }) {
			t.Errorf("%s %s: create refused %v, preview %v", c.due, c.pattern, cf, pf)
		}
	}
	good := `"due_date":"2030-06-02T09:00:00Z","recurrence_pattern":{"frequency":"daily"}`
	for body, want := range map[string][]string{
		`{` + good + `,"count":0}`:                                                       {"count"},
		`{` + good + `,"count":51}`:                                                      {"count"},
		`{` + good + `,"count":"5"}`:                                                     {"count"},
		`{` + good + `,"count":2.5}`:                                                     {"count"},
		`{` + good + `,"title":"t"}`:                                                     {"title"},
		`{` + good + `,"count":3,"count":4}`:                                             {"count"},
		`{"recurrence_pattern":{"frequency":"daily"}}`:                                   {"due_date"},
		`{"due_date":null,"recurrence_pattern":{"frequency":"daily"}}`:                   {"due_date"},
		`{"due_date":"2030-06-02T09:00:00Z"}`:                                            {"recurrence_pattern"},
		`{"due_date":"2030-06-02T09:00:00Z","recurrence_pattern":null}`:                  {"recurrence_pattern"},
		`{"count":0,"recurrence_pattern":{"frequency":"often"}}`:                         {"count", "due_date", "recurrence_pattern.frequency"},
		`{"due_date":"2030-06-31","recurrence_pattern":{"frequency":"daily"},"extra":1}`: {"due_date", "extra"},
	} {
		r := a.do("POST", "/api/recurrence/preview", "alice", body)
		a.expect(r, 400, "invalid_request")
		if got := slices.Sorted(maps.Keys(fields(t, r))); !slices.Equal(got, want) {
			t.Errorf("%s: field errors %v, want %v", body, got, want)
		}
	}
	for _, body := range []string{``, `[]`, `{"due_date":`, `{} {}`} {
		a.expect(a.do("POST", "/api/recurrence/preview", "alice", body, "Content-Type: application/json"), 400, "invalid_request")
	}
	a.expect(a.do("POST", "/api/recurrence/preview", "alice", `{`+good+`}`, "Content-Type: text/plain"), 415, "")
	a.expect(a.do("POST", "/api/recurrence/preview", "", `{`+good+`}`), 401, "unauthenticated")
	a.expect(a.do("GET", "/api/recurrence/preview", "alice", ""), 405, "")
	a.expect(a.do("POST", "/api/recurrence/preview?count=3", "alice", `{`+good+`}`), 400, "invalid_request")
}
