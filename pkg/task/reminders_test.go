package task

import (
	"encoding/json"
	"testing"
	"time"
)

func newTask(t *testing.T, body string) (Task, error) {
	t.Helper()
	in, ok, err := ParseInput([]byte(body))
	if !ok || err != nil {
		return Task{}, err
	}
	return New("u1", in, now)
}

// The examples: several reminders, absolute and relative, shown by
// instant with reminder_time the earliest.
func TestSeveralReminders(t *testing.T) {
	got, err := newTask(t, `{"title":"Dentist","due_date":"2027-03-01T09:00:00Z",
		"reminders":[{"before_due":"PT15M"},{"at":"2027-02-28T18:00:00Z"},{"before_due":"P1D"},{"before_due":"PT0S"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Reminder{{BeforeDue: "P1D", At: time.Date(2027, 2, 28, 9, 0, 0, 0, time.UTC)},
		{At: time.Date(2027, 2, 28, 18, 0, 0, 0, time.UTC)},
		{BeforeDue: "PT15M", At: time.Date(2027, 3, 1, 8, 45, 0, 0, time.UTC)},
		{BeforeDue: "PT0S", At: time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)}}
	if !remindersEqual(got.Reminders, want) || !got.ReminderTime.Equal(want[0].At) {
		t.Fatalf("reminders %+v, reminder_time %v", got.Reminders, got.ReminderTime)
	}
	b, _ := json.Marshal(got.Reminders[:2])
	if string(b) != `[{"before_due":"P1D","at":"2027-02-28T09:00:00Z"},{"at":"2027-02-28T18:00:00Z"}]` {
		t.Errorf("JSON %s", b)
	}
	// A task read back can be sent back unchanged.
	body, _ := json.Marshal(got)
	in := mustParse(t, string(body))
	same, changed, err := got.Replace(in, now)
	if err != nil || changed || !remindersEqual(same.Reminders, want) {
		t.Errorf("read task sent back: changed %v, %v", changed, err)
	}
	// Relative reminders follow the due date; absolute ones stay.
	moved, _, err := got.Patch(mustParse(t, `{"due_date":"2027-03-02T09:00:00Z"}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if !moved.Reminders[0].At.Equal(time.Date(2027, 2, 28, 18, 0, 0, 0, time.UTC)) ||
		!moved.Reminders[1].At.Equal(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)) ||
		!moved.Reminders[3].At.Equal(time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("after moving the due date: %+v", moved.Reminders)
	}
}

// Days count back in wall-clock terms in the series' zone (RFC 5545
// §3.3.6): P1D before 09:00 Berlin on the day the clocks go forward is
// 09:00 the day before, 23 hours earlier.
func TestBeforeDueIsNominalInTheSeriesZone(t *testing.T) {
	got, err := newTask(t, `{"title":"x","due_date":"2027-03-28T07:00:00Z","reminders":[{"before_due":"P1D"},{"before_due":"PT24H"}],
		"recurrence_pattern":{"frequency":"daily","timezone":"Europe/Berlin"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Reminders[0].At.Equal(time.Date(2027, 3, 27, 7, 0, 0, 0, time.UTC)) || got.Reminders[0].BeforeDue != "PT24H" ||
		!got.Reminders[1].At.Equal(time.Date(2027, 3, 27, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("%+v", got.Reminders)
	}
	// Not recurring: exactly 24 hours.
	plain, err := newTask(t, `{"title":"x","due_date":"2027-03-28T07:00:00Z","reminders":[{"before_due":"P1D"}]}`)
	if err != nil || !plain.Reminders[0].At.Equal(time.Date(2027, 3, 27, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("%+v %v", plain.Reminders, err)
	}
}

func TestReminderErrors(t *testing.T) {
	cases := []struct{ body, field string }{
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminders":[{"at":"2027-03-01T08:00:00Z"},{"at":"2027-03-01T08:01:00Z"},{"at":"2027-03-01T08:02:00Z"},{"at":"2027-03-01T08:03:00Z"},{"at":"2027-03-01T08:04:00Z"},{"at":"2027-03-01T08:05:00Z"}]}`, "reminders"},
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminders":[{"at":"2027-03-01T08:00:00Z"},{"before_due":"PT1H","when":1}]}`, "reminders[1].when"},
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminders":[{}]}`, "reminders[0]"},
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminders":[{"before_due":"P1M"}]}`, "reminders[0].before_due"},
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminders":[{"before_due":"-PT5M"}]}`, "reminders[0].before_due"},
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminders":[{"before_due":"PT1.5H"}]}`, "reminders[0].before_due"},
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminders":[{"before_due":"P367D"}]}`, "reminders[0].before_due"},
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminders":[{"before_due":"P1W2D"}]}`, "reminders[0].before_due"},
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminders":[{"before_due":"PT"}]}`, "reminders[0].before_due"},
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminders":[{"at":"yesterday"}]}`, "reminders[0].at"},
		{`{"title":"x","reminders":[{"before_due":"PT15M"}]}`, "reminders[0].before_due"},
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminders":[{"at":"2027-03-01T10:00:00Z"}]}`, "reminders[0].at"},
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminders":[{"before_due":"PT1H"},{"at":"2027-03-01T08:00:00Z"}]}`, "reminders[1]"},
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminders":[{"before_due":"PT1H"}],"reminder_time":"2027-03-01T07:00:00Z"}`, "reminder_time"},
		{`{"title":"x","due_date":"2027-03-01T09:00:00Z","reminder_time":"2027-03-01T10:00:00Z"}`, "reminder_time"},
		{`{"title":"x","reminders":{"at":"2027-03-01T08:00:00Z"}}`, "reminders"},
	}
	for _, c := range cases {
		_, err := newTask(t, c.body)
		if f := fields(t, err); f[c.field] == "" {
			t.Errorf("%s: fields %v, want %s", c.body, f, c.field)
		}
	}
	for _, ok := range []string{"PT15M", "P1D", "P1W", "P1DT2H", "PT0S", "P366D"} {
		if _, err := parseBeforeDue(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// reminder_time alone, as today's clients send it, is one absolute reminder;
// null clears them all; both agreeing are accepted.
func TestReminderTimeForTodaysClients(t *testing.T) {
	got, err := newTask(t, `{"title":"x","due_date":"2027-03-01T09:00:00Z","reminder_time":"2027-03-01T08:45:00Z"}`)
	if err != nil || len(got.Reminders) != 1 || got.Reminders[0].Relative() || !got.Reminders[0].At.Equal(*got.ReminderTime) {
		t.Fatalf("%+v %v", got.Reminders, err)
	}
	several, _, err := got.Patch(mustParse(t, `{"reminders":[{"before_due":"PT1H"},{"before_due":"PT5M"}],"reminder_time":"2027-03-01T08:00:00Z"}`), now)
	if err != nil || len(several.Reminders) != 2 {
		t.Fatalf("%+v %v", several.Reminders, err)
	}
	cleared, _, err := several.Patch(mustParse(t, `{"reminder_time":null}`), now)
	if err != nil || len(cleared.Reminders) != 0 || cleared.ReminderTime != nil {
		t.Errorf("%+v %v", cleared, err)
	}
}

func TestCarryReminders(t *testing.T) {
	prev, err := newTask(t, `{"title":"x","due_date":"2027-03-27T08:00:00Z","reminders":[{"before_due":"P1D"},{"at":"2027-03-27T07:30:00Z"}],
		"recurrence_pattern":{"frequency":"daily","timezone":"Europe/Berlin"}}`)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Date(2027, 3, 28, 7, 0, 0, 0, time.UTC) // 09:00 Berlin, summer time
	next := prev
	next.DueDate = &due
	got := CarryReminders(prev, next)
	if len(got) != 2 || !got[0].At.Equal(time.Date(2027, 3, 27, 8, 0, 0, 0, time.UTC)) || got[0].BeforeDue != "P1D" ||
		!got[1].At.Equal(due.Add(-30*time.Minute)) || got[1].Relative() {
		t.Errorf("%+v", got)
	}
}

func TestParseSnooze(t *testing.T) {
	if u, err := ParseSnooze([]byte(`{"minutes":10}`), now); err != nil || !u.Equal(now.Add(10*time.Minute)) {
		t.Errorf("%v %v", u, err)
	}
	if u, err := ParseSnooze([]byte(`{"until":"2026-11-26T13:00:00+01:00"}`), now); err == nil {
		t.Errorf("until now accepted: %v", u)
	}
	if u, err := ParseSnooze([]byte(`{"until":"2026-11-27T13:00:00+01:00"}`), now); err != nil || !u.Equal(now.Add(24*time.Hour)) {
		t.Errorf("%v %v", u, err)
	}
	for body, field := range map[string]string{`{}`: "minutes", `{"minutes":0}`: "minutes", `{"minutes":10081}`: "minutes",
		`{"minutes":1.5}`: "minutes", `{"until":"2027-02-01T00:00:00Z"}`: "until", `{"minutes":5,"until":"2026-11-27T00:00:00Z"}`: "until",
		`{"minutes":5,"x":1}`: "x", `{"until":"soon"}`: "until"} {
		_, err := ParseSnooze([]byte(body), now)
		if f := fields(t, err); f[field] == "" {
			t.Errorf("%s: %v", body, f)
		}
	}
}
