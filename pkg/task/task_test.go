package task

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/errs"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func fields(t *testing.T, err error) map[string]string {
	t.Helper()
	var inv *errs.Invalid
	if !errors.As(err, &inv) {
		t.Fatalf("want *errs.Invalid, got %v", err)
	}
	return inv.Fields
}

func mustParse(t *testing.T, body string) Input {
	t.Helper()
	in, ok, err := ParseInput([]byte(body))
	if !ok || err != nil {
		t.Fatalf("ParseInput(%s): %v", body, err)
	}
	return in
}

func TestNewDefaultsAndNormalises(t *testing.T) {
	in := mustParse(t, `{"title":"  Weekly review ","tags":[" Work","work","home"],"due_date":"2027-03-01T10:00:00+01:00",
		"recurrence_pattern":{"frequency":"weekly","days_of_week":[5,1,1]}}`)
	got, err := New("u1", in, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "Weekly review" || got.Priority != Medium || got.Status != Active {
		t.Errorf("defaults: %+v", got)
	}
	if strings.Join(got.Tags, ",") != "Work,home" {
		t.Errorf("tags = %v, want first spelling kept and duplicates dropped", got.Tags)
	}
	if !got.DueDate.Equal(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)) || got.DueDate.Location() != time.UTC {
		t.Errorf("due date not normalised to UTC: %v", got.DueDate)
	}
	if !got.IsRecurring || got.Recurrence.Interval != 1 || got.Recurrence.Timezone != "UTC" ||
		len(got.Recurrence.DaysOfWeek) != 2 {
		t.Errorf("recurrence defaults: %+v", got.Recurrence)
	}
}

func TestValidationListsEveryError(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string
	}{
		{"all at once", `{"title":"","priority":"x","tags":"a","due_date":"tomorrow","bogus":1}`,
			[]string{"title", "priority", "tags", "due_date", "bogus"}},
		{"title too long", `{"title":"` + strings.Repeat("é", 201) + `"}`, []string{"title"}},
		{"description too long", `{"title":"a","description":"` + strings.Repeat("x", 10001) + `"}`, []string{"description"}},
		{"too many tags", `{"title":"a","tags":[` + strings.TrimSuffix(strings.Repeat(`"t",`, 21), ",") + `]}`, []string{"tags"}},
		{"tag too long", `{"title":"a","tags":["` + strings.Repeat("t", 51) + `"]}`, []string{"tags"}},
		{"empty tag", `{"title":"a","tags":["  "]}`, []string{"tags"}},
		{"reminder after due", `{"title":"a","due_date":"2027-01-01T00:00:00Z","reminder_time":"2027-01-01T00:00:01Z"}`, []string{"reminder_time"}},
		{"date without offset", `{"title":"a","due_date":"2027-01-01T00:00:00"}`, []string{"due_date"}},
		{"recurring without pattern", `{"title":"a","is_recurring":true}`, []string{"recurrence_pattern"}},
		{"pattern but not recurring", `{"title":"a","is_recurring":false,"recurrence_pattern":{"frequency":"daily"}}`, []string{"is_recurring"}},
		{"bad pattern", `{"title":"a","recurrence_pattern":{"frequency":"hourly","interval":0,"days_of_week":[7],"timezone":"Mars/Base","x":1}}`,
			[]string{"recurrence_pattern.frequency", "recurrence_pattern.timezone", "recurrence_pattern.x"}},
		{"day_of_month out of range", `{"title":"a","recurrence_pattern":{"frequency":"monthly","day_of_month":32}}`, []string{"recurrence_pattern.day_of_month"}},
		{"month without yearly", `{"title":"a","recurrence_pattern":{"frequency":"monthly","month":3}}`, []string{"recurrence_pattern.month"}},
		{"bad rrule", `{"title":"a","recurrence_pattern":{"rrule":"FREQ=SOMETIMES"}}`, []string{"recurrence_pattern.rrule"}},
		{"sub-daily rrule", `{"title":"a","recurrence_pattern":{"rrule":"FREQ=HOURLY"}}`, []string{"recurrence_pattern.rrule"}},
		{"rrule with fields", `{"title":"a","recurrence_pattern":{"rrule":"FREQ=DAILY","frequency":"daily"}}`, []string{"recurrence_pattern.rrule"}},
		{"wrong types", `{"title":1,"is_recurring":"yes","description":[]}`, []string{"title", "is_recurring", "description"}},
		{"status on create", `{"title":"a","status":"completed"}`, []string{"status"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in, ok, perr := ParseInput([]byte(c.body))
			if !ok {
				t.Fatalf("not an object: %v", perr)
			}
			_, err := New("u", in, now)
			got := fields(t, errs.Merge(perr, err))
			for _, f := range c.want {
				if got[f] == "" {
					t.Errorf("no error for %s; got %v", f, got)
				}
			}
		})
	}
}

func TestParseInputRejectsNonObjects(t *testing.T) {
	for _, body := range []string{"", "null", "[]", `"x"`, "{", `{"title":"a"} {}`, `{"title":"a"}x`} {
		if _, ok, err := ParseInput([]byte(body)); ok || err == nil {
			t.Errorf("ParseInput(%q) accepted", body)
		}
	}
}

func TestServerOwnedFieldsAreIgnored(t *testing.T) {
	in := mustParse(t, `{"title":"a","id":"x","user_id":"someone","series_id":"s","created_at":"yesterday"}`)
	got, err := New("me", in, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != "me" || got.ID != "" || got.SeriesID != nil || !got.CreatedAt.Equal(now) {
		t.Errorf("server-owned fields taken from body: %+v", got)
	}
}

func base(t *testing.T) Task {
	in := mustParse(t, `{"title":"a","description":"d","priority":"high","tags":["x"],"due_date":"2027-01-02T00:00:00Z","reminder_time":"2027-01-01T00:00:00Z"}`)
	got, err := New("u", in, now)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestPatchChangesOnlySentFields(t *testing.T) {
	cur := base(t)
	later := now.Add(time.Hour)
	got, changed, err := cur.Patch(mustParse(t, `{"title":"b","reminder_time":null}`), later)
	if err != nil || !changed {
		t.Fatalf("patch: %v %v", changed, err)
	}
	if got.Title != "b" || got.Description != "d" || got.Priority != High || got.ReminderTime != nil || got.DueDate == nil {
		t.Errorf("patch result: %+v", got)
	}
	if !got.UpdatedAt.Equal(later) || !got.CreatedAt.Equal(now) {
		t.Errorf("timestamps: %v %v", got.CreatedAt, got.UpdatedAt)
	}
	if _, changed, _ := got.Patch(mustParse(t, `{"title":"b"}`), later.Add(time.Hour)); changed {
		t.Error("a patch that changes nothing reported a change")
	}
	if _, _, err := cur.Patch(mustParse(t, `{"title":null}`), later); fields(t, err)["title"] == "" {
		t.Error("null title accepted")
	}
}

func TestReplaceResetsUnsentFields(t *testing.T) {
	cur := base(t)
	got, changed, err := cur.Replace(mustParse(t, `{"title":"c"}`), now.Add(time.Minute))
	if err != nil || !changed {
		t.Fatal(changed, err)
	}
	if got.Description != "" || got.Priority != Medium || len(got.Tags) != 0 || got.DueDate != nil || got.ReminderTime != nil {
		t.Errorf("PUT kept fields it should reset: %+v", got)
	}
}

func TestCompleteIsIdempotentAndReopen(t *testing.T) {
	cur := base(t)
	done, changed := cur.Complete(now.Add(time.Minute))
	if !changed || done.Status != Completed || done.CompletedAt == nil {
		t.Fatalf("complete: %+v", done)
	}
	again, changed := done.Complete(now.Add(time.Hour))
	if changed || !again.CompletedAt.Equal(*done.CompletedAt) {
		t.Errorf("second complete changed the task: %+v", again)
	}
	open, changed, err := done.Patch(mustParse(t, `{"status":"active"}`), now.Add(2*time.Hour))
	if err != nil || !changed || open.Status != Active || open.CompletedAt != nil {
		t.Errorf("reopen: %+v %v", open, err)
	}
	viaPatch, _, err := cur.Patch(mustParse(t, `{"status":"completed"}`), now.Add(time.Minute))
	if err != nil || viaPatch.Status != Completed || viaPatch.CompletedAt == nil {
		t.Errorf("status completed via PATCH: %+v %v", viaPatch, err)
	}
}

func TestParseListQuery(t *testing.T) {
	q, err := ParseListQuery(url.Values{"status": {"pending"}, "priority": {"high,urgent"}, "tags": {"Work, Home"},
		"tag_mode": {"all"}, "sort": {"priority"}, "order": {"desc"}, "limit": {"10"}, "overdue": {"true"}}, false, now)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != Active || len(q.Priorities) != 2 || strings.Join(q.TagKeys, ",") != "work,home" || !q.TagsAll ||
		q.Sort != SortPriority || !q.Desc || q.Limit != 10 || !q.Overdue {
		t.Errorf("parsed: %+v", q)
	}
	bad := url.Values{"status": {"done"}, "priority": {"high,asap"}, "sort": {"id; DROP TABLE tasks"}, "order": {"up"},
		"limit": {"501"}, "due_before": {"2027-13-01"}, "cursor": {"!!"}, "overdue": {"yes"}, "tag_mode": {"some"}, "x": {"1"}}
	got := fields(t, func() error { _, err := ParseListQuery(bad, false, now); return err }())
	for name := range bad {
		if got[name] == "" {
			t.Errorf("no error for %s: %v", name, got)
		}
	}
	if _, err := ParseListQuery(url.Values{"q": {"x"}}, false, now); err == nil {
		t.Error("q accepted on a plain list")
	}
	for _, q := range []string{"", "  ", "!!! ---", strings.Repeat("a ", 300)} {
		if _, err := ParseListQuery(url.Values{"q": {q}}, true, now); err == nil {
			t.Errorf("search q=%q accepted", q)
		}
	}
}

func TestCursorMustMatchSort(t *testing.T) {
	c := Cursor{Sort: SortDue, Value: "2027-01-01T00:00:00Z", ID: "0193f0c2-0000-7000-8000-000000000000"}.Encode()
	if _, err := ParseListQuery(url.Values{"sort": {"due_date"}, "cursor": {c}}, false, now); err != nil {
		t.Errorf("own cursor refused: %v", err)
	}
	if _, err := ParseListQuery(url.Values{"sort": {"title"}, "cursor": {c}}, false, now); err == nil {
		t.Error("cursor of another sort accepted")
	}
	if _, err := ParseListQuery(url.Values{"sort": {"due_date"}, "order": {"desc"}, "cursor": {c}}, false, now); err == nil {
		t.Error("cursor of another order accepted")
	}
	// Forms uuid.Validate takes but PostgreSQL's uuid does not (a 404 from
	// the database for a listing), and a rank no listing writes.
	for _, c := range []Cursor{
		{Sort: SortCreated, Value: "2027-01-01T00:00:00Z", ID: "urn:uuid:0193f0c2-0000-7000-8000-000000000000"},
		{Sort: SortCreated, Value: "2027-01-01T00:00:00Z", ID: "{0193f0c2-0000-7000-8000-000000000000}"},
		{Sort: SortRelevance, Value: "NaN", ID: "0193f0c2-0000-7000-8000-000000000000"},
		{Sort: SortRelevance, Value: "-Inf", ID: "0193f0c2-0000-7000-8000-000000000000"},
	} {
		v := url.Values{"cursor": {c.Encode()}}
		if c.Sort == SortRelevance {
			v.Set("q", "word")
		}
		if fe := fields(t, func() error { _, err := ParseListQuery(v, c.Sort == SortRelevance, now); return err }()); fe["cursor"] == "" {
			t.Errorf("cursor %+v accepted", c)
		}
	}
}

func TestSearchTerms(t *testing.T) {
	got, msg := SearchTerms("Meet-ing, 'Review' café")
	if msg != "" || strings.Join(got, " ") != "meet ing review café" {
		t.Errorf("SearchTerms = %q %q", got, msg)
	}
}

// TestNullTakesTheDefault: API.md §3, a field sent as null takes its default
// on create, PUT and PATCH alike; it is never a 400 or silently ignored.
func TestNullTakesTheDefault(t *testing.T) {
	body := `{"title":"a","description":null,"priority":null,"tags":null,"due_date":null,"reminder_time":null,` +
		`"is_recurring":null,"recurrence_pattern":null}`
	got, err := New("u1", mustParse(t, body), now)
	if err != nil || got.Priority != Medium || got.IsRecurring || got.Recurrence != nil {
		t.Fatalf("create with nulls: %+v %v", got, err)
	}
	cur := base(t)
	for _, apply := range []func(Input, time.Time) (Task, bool, error){cur.Replace, cur.Patch} {
		got, _, err := apply(mustParse(t, body), now.Add(time.Minute))
		if err != nil {
			t.Fatalf("nulls: %v", err)
		}
		if got.Priority != Medium || got.Description != "" || len(got.Tags) != 0 || got.DueDate != nil || got.IsRecurring {
			t.Errorf("nulls kept values: %+v", got)
		}
	}
	got, _, err = cur.Patch(mustParse(t, `{"is_recurring":null,"recurrence_pattern":{"frequency":"daily"}}`), now)
	if err != nil || !got.IsRecurring {
		t.Errorf("null is_recurring with a pattern: %+v %v", got, err)
	}
}

// TestSkipAndEndSeries: the domain rules of POST /api/tasks/{id}/skip and
// /end-series.
func TestSkipAndEndSeries(t *testing.T) {
	due := now.Add(time.Hour)
	sid := "s1"
	series := Task{Title: "t", Status: Active, Priority: Medium, Tags: []string{}, DueDate: &due, IsRecurring: true,
		Recurrence: &Recurrence{Frequency: Daily, Interval: 1}, SeriesID: &sid, SeriesStart: &due, Occurrence: 2}
	s, ch, err := series.Skip(now)
	if err != nil || !ch || s.Status != Skipped || s.CompletedAt != nil || !s.UpdatedAt.Equal(now) || !s.IsRecurring {
		t.Errorf("skip: %+v %v %v", s, ch, err)
	}
	if again, ch, err := s.Skip(now.Add(time.Hour)); err != nil || ch || !again.UpdatedAt.Equal(now) {
		t.Errorf("skip again: changed %v, %v", ch, err)
	}
	plain := Task{Title: "t", Status: Active}
	if _, _, err := plain.Skip(now); !errors.Is(err, errs.ErrConflict) {
		t.Errorf("skip of a task that does not recur: %v", err)
	}
	done, _ := series.Complete(now)
	if _, _, err := done.Skip(now); !errors.Is(err, errs.ErrConflict) {
		t.Errorf("skip of a completed task: %v", err)
	}
	e, err := series.EndSeries(now)
	if err != nil || e.IsRecurring || e.Recurrence != nil || e.SeriesID == nil || *e.SeriesID != sid || e.Status != Active ||
		e.SeriesStart != nil || !timeEq(e.DueDate, &due) {
		t.Errorf("end series: %+v %v", e, err)
	}
	for name, tk := range map[string]Task{"not recurring": plain, "completed": done, "skipped": s, "ended": e} {
		if _, err := tk.EndSeries(now); !errors.Is(err, errs.ErrConflict) {
			t.Errorf("end series of a %s task: %v", name, err)
		}
	}
}

// TestRepeatFromParses: repeat_from is "due" when absent or null, and
// refused for anything else but "completion".
func TestRepeatFromParses(t *testing.T) {
	for body, want := range map[string]string{
		`{"title":"t","due_date":"2027-03-22T09:00:00Z","recurrence_pattern":{"frequency":"daily"}}`:                            "due",
		`{"title":"t","due_date":"2027-03-22T09:00:00Z","recurrence_pattern":{"frequency":"daily","repeat_from":null}}`:         "due",
		`{"title":"t","due_date":"2027-03-22T09:00:00Z","recurrence_pattern":{"frequency":"daily","repeat_from":"due"}}`:        "due",
		`{"title":"t","due_date":"2027-03-22T09:00:00Z","recurrence_pattern":{"frequency":"daily","repeat_from":"completion"}}`: "completion",
		`{"title":"t","recurrence_pattern":{"rrule":"FREQ=WEEKLY","repeat_from":"completion"}}`:                                 "completion",
	} {
		in, _, err := ParseInput([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		tk, err := New("u", in, now)
		if err != nil || tk.Recurrence.RepeatFrom != want || tk.Occurrence != 1 {
			t.Errorf("%s: repeat_from %q occurrence %d, %v; want %s", body, tk.Recurrence.RepeatFrom, tk.Occurrence, err, want)
		}
	}
	in, _, perr := ParseInput([]byte(`{"title":"t","recurrence_pattern":{"frequency":"daily","repeat_from":"every"}}`))
	_, err := New("u", in, now)
	var inv *errs.Invalid
	if !errors.As(errs.Merge(perr, err), &inv) || inv.Fields["recurrence_pattern.repeat_from"] == "" {
		t.Errorf("repeat_from every: %v", err)
	}
	// "" and "due" are the same pattern: a stored one without the field is unchanged by a PATCH with it.
	if !(&Recurrence{Frequency: Daily}).Equal(&Recurrence{Frequency: Daily, RepeatFrom: RepeatFromDue}) {
		t.Error("repeat_from absent is not due")
	}
}
