package ops

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/recurrence"
	"github.com/taskflow/taskflow/pkg/task"
)

var t0 = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

func create(t *testing.T, body string) Write {
	t.Helper()
	w, err := Create("alice", []byte(body), t0)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// stored is w's task as the store returns it once written.
func stored(w Write) task.Task { return w.Task }

func invalid(err error) bool {
	var inv *errs.Invalid
	return errors.As(err, &inv)
}

func types(evs []events.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func data(t *testing.T, e events.Event) events.TaskData {
	t.Helper()
	var d events.TaskData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func wantTypes(t *testing.T, w Write, want ...string) {
	t.Helper()
	if got := types(w.Events); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for _, e := range w.Events {
		if e.Subject != w.Task.ID || e.ID == "" || e.Source != "" {
			t.Errorf("event %s: subject %q (task %q), id %q, source %q", e.Type, e.Subject, w.Task.ID, e.ID, e.Source)
		}
	}
}

func TestCreate(t *testing.T) {
	w := create(t, `{"title":"Plan","tags":["Work","home"]}`)
	wantTypes(t, w, events.TaskCreated)
	if w.Task.ID == "" || w.Task.Version != 1 || w.Task.UserID != "alice" || w.Task.SeriesID != nil {
		t.Errorf("task %+v", w.Task)
	}
	d := data(t, w.Events[0])
	if d.UserID != "alice" || d.Task.ID != w.Task.ID || d.Previous != nil || !w.Events[0].Time.Equal(t0) {
		t.Errorf("created event %+v at %v", d, w.Events[0].Time)
	}
	if !slices.Equal(w.Colors, []string{TagColor("Work"), TagColor("home")}) {
		t.Errorf("colours %v", w.Colors)
	}
}

func TestCreateRecurringStartsItsSeries(t *testing.T) {
	w := create(t, `{"title":"Standup","due_date":"2027-01-04T09:00:00Z","recurrence_pattern":{"frequency":"daily"}}`)
	if w.Task.SeriesID == nil || *w.Task.SeriesID != w.Task.ID {
		t.Fatalf("series id %v, want the task's own id %s", w.Task.SeriesID, w.Task.ID)
	}
	if w.Task.SeriesStart == nil || !w.Task.SeriesStart.Equal(t0) {
		t.Errorf("series start %v", w.Task.SeriesStart)
	}
	d := data(t, w.Events[0])
	if d.Task.SeriesID == nil || *d.Task.SeriesID != w.Task.ID || d.SeriesStart == nil {
		t.Errorf("the created event does not carry the series: %+v", d)
	}
	// A series id given by the caller is kept.
	tk := w.Task
	other := "0193f0c2-0000-7000-8000-000000000000"
	tk.SeriesID = &other
	if got := Insert(tk); *got.Task.SeriesID != other || got.Task.ID == tk.ID {
		t.Errorf("insert with a series: id %s series %s", got.Task.ID, *got.Task.SeriesID)
	}
}

func TestCreateRefusesWhatNewRefuses(t *testing.T) {
	for _, body := range []string{`[]`, `{"title":""}`, `{"title":"x","status":"completed"}`,
		`{"title":"x","priority":"huge"}`} {
		if _, err := Create("alice", []byte(body), t0); !invalid(err) {
			t.Errorf("%s: %v", body, err)
		}
	}
	// Parse errors and validation errors come together.
	_, err := Create("alice", []byte(`{"title":"","priority":"huge"}`), t0)
	var inv *errs.Invalid
	if !errors.As(err, &inv) || len(inv.Fields) != 2 {
		t.Errorf("want both field errors, got %v", err)
	}
}

func TestTimesAreStoredPrecision(t *testing.T) {
	w, err := Create("alice", []byte(`{"title":"x","due_date":"2027-01-05T10:00:00.123456789+02:00",
		"recurrence_pattern":{"frequency":"daily","end_date":"2027-02-01T00:00:00.999999999Z"}}`), t0.Add(1500))
	if err != nil {
		t.Fatal(err)
	}
	due := time.Date(2027, 1, 5, 8, 0, 0, 123456000, time.UTC)
	if *w.Task.DueDate != due || w.Task.CreatedAt != t0.Add(1000) || w.Task.UpdatedAt != w.Task.CreatedAt ||
		w.Task.Recurrence.EndDate.Nanosecond() != 999999000 {
		t.Errorf("times %v %v %v %v", w.Task.DueDate, w.Task.CreatedAt, w.Task.UpdatedAt, w.Task.Recurrence.EndDate)
	}
	if d := data(t, w.Events[0]); !d.Task.DueDate.Equal(due) || !d.Task.CreatedAt.Equal(t0.Add(1000)) {
		t.Errorf("the event shows %v %v", d.Task.DueDate, d.Task.CreatedAt)
	}
}

func patch(t *testing.T, cur task.Task, body string, now time.Time) (Write, bool) {
	t.Helper()
	in, _, err := task.ParseInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	w, ch, err := Patch(cur, in, now)
	if err != nil {
		t.Fatal(err)
	}
	return w, ch
}

func TestUpdateNothingChanged(t *testing.T) {
	cur := stored(create(t, `{"title":"a","tags":["x"]}`))
	w, ch := patch(t, cur, `{"title":"a","tags":["x"]}`, t0.Add(time.Hour))
	if ch || len(w.Events) != 0 {
		t.Errorf("changed %v, events %v", ch, types(w.Events))
	}
	in, _, _ := task.ParseInput([]byte(`{"title":"a","tags":["x"]}`))
	if _, ch, _ := Replace(cur, in, t0.Add(time.Hour)); ch {
		t.Error("replace with the same fields changed the task")
	}
}

func TestUpdateTitle(t *testing.T) {
	cur := stored(create(t, `{"title":"a"}`))
	w, ch := patch(t, cur, `{"title":"b"}`, t0.Add(time.Hour))
	if !ch {
		t.Fatal("not changed")
	}
	wantTypes(t, w, events.TaskUpdated)
	if w.Task.Version != 2 || w.Task.ID != cur.ID || !w.Task.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("task %+v", w.Task)
	}
	d := data(t, w.Events[0])
	if d.Task.Title != "b" || d.Previous == nil || d.Previous.Title != "a" || !w.Events[0].Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("updated event %+v", d)
	}
}

func TestUpdateMakesRecurringAndNamesItsSeries(t *testing.T) {
	cur := stored(create(t, `{"title":"a","due_date":"2027-01-05T09:00:00Z"}`))
	w, _ := patch(t, cur, `{"recurrence_pattern":{"frequency":"weekly"}}`, t0.Add(time.Hour))
	if w.Task.SeriesID == nil || *w.Task.SeriesID != cur.ID {
		t.Errorf("series id %v, want %s", w.Task.SeriesID, cur.ID)
	}
}

func TestComplete(t *testing.T) {
	cur := stored(create(t, `{"title":"a"}`))
	done := t0.Add(2 * time.Hour)
	w, ch := Complete(cur, done)
	if !ch {
		t.Fatal("not changed")
	}
	wantTypes(t, w, events.TaskCompleted)
	if d := data(t, w.Events[0]); d.Task.Status != task.Completed || d.Task.CompletedAt == nil ||
		!d.Task.CompletedAt.Equal(done) || d.Previous != nil {
		t.Errorf("completed event %+v", d)
	}
	if again, ch := Complete(w.Task, done.Add(time.Hour)); ch || len(again.Events) != 0 {
		t.Errorf("a second completion changed %v with %v", ch, types(again.Events))
	}
}

func TestCompleteAndEdit(t *testing.T) {
	cur := stored(create(t, `{"title":"a"}`))
	w, _ := patch(t, cur, `{"title":"b","status":"completed"}`, t0.Add(time.Hour))
	wantTypes(t, w, events.TaskUpdated, events.TaskCompleted)
	if d := data(t, w.Events[0]); d.Task.Title != "b" || d.Previous.Title != "a" {
		t.Errorf("updated event %+v", d)
	}
}

func TestReopen(t *testing.T) {
	done, _ := Complete(stored(create(t, `{"title":"a"}`)), t0.Add(time.Hour))
	w, ch := patch(t, done.Task, `{"status":"active"}`, t0.Add(2*time.Hour))
	if !ch {
		t.Fatal("not changed")
	}
	wantTypes(t, w, events.TaskUpdated)
	if d := data(t, w.Events[0]); d.Task.Status != task.Active || d.Task.CompletedAt != nil ||
		d.Previous.Status != task.Completed || w.Task.Version != 3 {
		t.Errorf("reopened %+v, version %d", d, w.Task.Version)
	}
}

func TestDelete(t *testing.T) {
	cur := stored(create(t, `{"title":"a","tags":["Work"]}`))
	at := t0.Add(3 * time.Hour)
	w := Delete(cur, at)
	wantTypes(t, w, events.TaskDeleted)
	if d := data(t, w.Events[0]); d.Task.ID != cur.ID || d.UserID != "alice" || !w.Events[0].Time.Equal(at) {
		t.Errorf("deleted event %+v at %v", d, w.Events[0].Time)
	}
	if again := w.WithTags([]string{"work"}); again.Events[0].ID != w.Events[0].ID {
		t.Error("a delete's events were derived again")
	}
}

func TestWithTagsDerivesFromTheStoredSpelling(t *testing.T) {
	w := create(t, `{"title":"a","tags":["work"]}`).WithTags([]string{"Work"})
	if d := data(t, w.Events[0]); !slices.Equal(d.Task.Tags, []string{"Work"}) ||
		!slices.Equal(w.Task.Tags, []string{"Work"}) || w.Colors[0] != TagColor("work") {
		t.Errorf("tags %v in the event, %v in the task, colours %v", d.Task.Tags, w.Task.Tags, w.Colors)
	}
	// Respelling a tag the user already has is no change anyone sees: the
	// row is written, but no event says so.
	cur := stored(create(t, `{"title":"a","tags":["Work"]}`))
	u, ch := patch(t, cur, `{"tags":["work"]}`, t0.Add(time.Hour))
	if !ch || len(u.Events) != 1 {
		t.Fatalf("as sent: changed %v, events %v", ch, types(u.Events))
	}
	if u = u.WithTags([]string{"Work"}); len(u.Events) != 0 {
		t.Errorf("as stored: events %v", types(u.Events))
	}
}

func TestTagColors(t *testing.T) {
	// FNV-1a of the tag's key into the palette, as tags were always
	// coloured: colours already stored must stay what a new tag gets.
	for tag, want := range map[string]string{"work": "#2563eb", " Work ": "#2563eb", "home": "#0891b2",
		"errands": "#dc2626", "personal": "#db2777"} {
		if got := TagColor(tag); got != want {
			t.Errorf("TagColor(%q) = %s, want %s", tag, got, want)
		}
	}
}

func TestSuccessor(t *testing.T) {
	first := create(t, `{"title":"Standup","tags":["Team"],"due_date":"2027-01-04T09:00:00Z",
		"reminder_time":"2027-01-04T08:45:00Z","recurrence_pattern":{"frequency":"daily"}}`)
	prev, _ := Complete(first.Task, t0.Add(time.Hour))
	now := t0.Add(time.Hour + 1500)
	w, ok, err := Successor(prev.Task, *prev.Task.CompletedAt, now)
	if err != nil || !ok {
		t.Fatalf("successor: %v %v", ok, err)
	}
	wantTypes(t, w, events.TaskCreated)
	n := w.Task
	if n.ID == prev.Task.ID || n.Version != 1 || n.SeriesID == nil || *n.SeriesID != *prev.Task.SeriesID ||
		n.Status != task.Active || !n.DueDate.Equal(t0.Add(24*time.Hour)) ||
		!n.ReminderTime.Equal(t0.Add(24*time.Hour-15*time.Minute)) || !n.CreatedAt.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("successor %+v", n)
	}
	if d := data(t, w.Events[0]); d.SeriesStart == nil || !d.SeriesStart.Equal(t0) || d.Task.ID != n.ID {
		t.Errorf("created event %+v", d)
	}
	// A series that has ended has no successor.
	last := prev.Task
	one := *last.Recurrence
	one.Occurrences = 1
	last.Recurrence = &one
	if _, ok, err := Successor(last, *last.CompletedAt, now); ok || err != nil {
		t.Errorf("after the last occurrence: %v %v", ok, err)
	}
	// A successor without a series keeps none: the series id is the predecessor's.
	orphan := prev.Task
	orphan.SeriesID = nil
	if w, _, _ := Successor(orphan, *orphan.CompletedAt, now); w.Task.SeriesID != nil {
		t.Errorf("series id %v invented for a successor", *w.Task.SeriesID)
	}
}

func TestSuccessorRefusesWhatCannotBeStored(t *testing.T) {
	prev := create(t, `{"title":"x","due_date":"2027-01-04T09:00:00Z","recurrence_pattern":{"frequency":"daily"}}`).Task
	long := prev
	long.Title = strings.Repeat("a", task.MaxTitle+1)
	if _, _, err := Successor(long, t0, t0); !invalid(err) {
		t.Errorf("a title too long: %v", err)
	}
	bad := prev
	r := *bad.Recurrence
	r.Timezone = "Nowhere/Atlantis"
	bad.Recurrence = &r
	if _, _, err := Successor(bad, t0, t0); !invalid(err) || errors.Is(err, recurrence.ErrTooFar) {
		t.Errorf("a pattern that cannot be evaluated: %v", err)
	}
}

// TestTagDeltas: a write counts each tag key once, +1 gained and -1 lost,
// sorted, and nothing for keys kept or a change that leaves the tags.
func TestTagDeltas(t *testing.T) {
	c := create(t, `{"title":"a","tags":["Work","work","home"],"due_date":"2027-01-05T09:00:00Z",
		"recurrence_pattern":{"frequency":"daily"}}`)
	if got := c.TagDeltas; !slices.Equal(got, []TagDelta{{"home", 1}, {"work", 1}}) {
		t.Errorf("create: %v", got)
	}
	cur := stored(c)
	tags := []string{"WORK", "car"}
	p, _, err := Patch(cur, task.Input{Tags: task.Opt[[]string]{Set: true, Value: &tags}}, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.TagDeltas; !slices.Equal(got, []TagDelta{{"car", 1}, {"home", -1}}) {
		t.Errorf("patch: %v", got)
	}
	if w, _ := Complete(cur, t0); len(w.TagDeltas) != 0 {
		t.Errorf("complete: %v", w.TagDeltas)
	}
	if got := Delete(cur, t0).TagDeltas; !slices.Equal(got, []TagDelta{{"home", -1}, {"work", -1}}) {
		t.Errorf("delete: %v", got)
	}
	done, _ := Complete(cur, t0)
	s, ok, err := Successor(stored(done), t0, t0)
	if err != nil || !ok || !slices.Equal(s.TagDeltas, c.TagDeltas) {
		t.Errorf("successor: %v %v %v", s.TagDeltas, ok, err)
	}
	if w := c.WithTags([]string{"WORK", "Home"}); !slices.Equal(w.TagDeltas, c.TagDeltas) {
		t.Errorf("after the store's spelling: %v", w.TagDeltas)
	}
	if sh := c.Shard(); sh < 0 || sh >= CountShards || sh != c.WithTags(c.Task.Tags).Shard() {
		t.Errorf("shard %d", sh)
	}
}

// reminderFlags is, for each of w's events, whether it carries the
// extension attribute the reminder function's Triggers filter on ("true"),
// or lacks it (false); any other value fails t.
func reminderFlags(t *testing.T, w Write) []bool {
	t.Helper()
	var out []bool
	for _, e := range w.Events {
		v, ok := e.Extensions[events.ExtReminder]
		if ok && v != "true" {
			t.Errorf("%s: %s=%q", e.Type, events.ExtReminder, v)
		}
		out = append(out, ok)
	}
	return out
}

// The reminder function is sent exactly the events of writes whose task has
// a reminder before or after them: every way a reminder is set, moved,
// cleared or ends, and no event of a task that never had one.
func TestReminderAttribute(t *testing.T) {
	const with = `{"title":"a","due_date":"2027-01-05T09:00:00Z","reminder_time":"2027-01-05T08:00:00Z"}`
	plain := stored(create(t, `{"title":"a","due_date":"2027-01-05T09:00:00Z"}`))
	reminded := stored(create(t, with))
	later := t0.Add(time.Hour)
	mustPatch := func(cur task.Task, body string) Write {
		t.Helper()
		w, ch := patch(t, cur, body, later)
		if !ch {
			t.Fatalf("%s changed nothing", body)
		}
		return w
	}
	completed, _ := Complete(reminded, later)
	plainDone, _ := Complete(plain, later)
	series := stored(create(t, `{"title":"a","due_date":"2027-01-05T09:00:00Z","reminder_time":"2027-01-05T08:00:00Z",
		"recurrence_pattern":{"frequency":"daily"}}`))
	seriesDone, _ := Complete(series, later)
	successor, ok, err := Successor(seriesDone.Task, later, later)
	if err != nil || !ok {
		t.Fatalf("successor: %v %v", ok, err)
	}
	for _, c := range []struct {
		name string
		w    Write
		want []bool
	}{
		{"created without a reminder", create(t, `{"title":"a"}`), []bool{false}},
		{"created with one", create(t, with), []bool{true}},
		{"created with one, tags respelt", create(t, with).WithTags(nil), []bool{true}},
		{"a successor with one", successor, []bool{true}},
		{"edited, no reminder before or after", mustPatch(plain, `{"title":"b"}`), []bool{false}},
		{"reminder set", mustPatch(plain, `{"reminder_time":"2027-01-05T07:00:00Z"}`), []bool{true}},
		{"reminder moved", mustPatch(reminded, `{"reminder_time":"2027-01-05T07:00:00Z"}`), []bool{true}},
		{"reminder cleared", mustPatch(reminded, `{"reminder_time":null}`), []bool{true}},
		{"title of a task with one", mustPatch(reminded, `{"title":"b"}`), []bool{true}},
		{"edited and completed with one", mustPatch(reminded, `{"title":"b","status":"completed"}`), []bool{true, true}},
		{"completed with one", completed, []bool{true}},
		{"completed without", plainDone, []bool{false}},
		{"reopened with one", mustPatch(completed.Task, `{"status":"active"}`), []bool{true}},
		{"deleted with one", Delete(reminded, later), []bool{true}},
		{"deleted without", Delete(plain, later), []bool{false}},
	} {
		if got := reminderFlags(t, c.w); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v of %v, want %v", c.name, got, types(c.w.Events), c.want)
		}
	}
}
