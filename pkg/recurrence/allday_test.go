package recurrence_test

import (
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/recurrence"
	"github.com/taskflow/taskflow/pkg/task"
)

// TestDateSeriesAcrossDST: a recurring all-day task is an RFC 5545 DATE
// series: each successor (made on completion) is all-day on the next date,
// at that day's start in the zone, across the DST change of Europe/Berlin on
// 2031-03-30 (the day's start moves from 23:00Z to 22:00Z), and its reminder
// keeps its wall-clock time the day before.
func TestDateSeriesAcrossDST(t *testing.T) {
	in, _, err := task.ParseInput([]byte(`{"title":"water plants","due_date":"2031-03-28",
		"reminder_time":"2031-03-27T19:00:00+01:00","recurrence_pattern":{"frequency":"daily","interval":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	in.Settings = &task.Settings{Timezone: "Europe/Berlin"}
	cur, err := task.New("u", in, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ date, start, reminder string }{
		{"2031-03-29", "2031-03-28T23:00:00Z", "2031-03-28T18:00:00Z"},
		{"2031-03-30", "2031-03-29T23:00:00Z", "2031-03-29T18:00:00Z"},
		{"2031-03-31", "2031-03-30T22:00:00Z", "2031-03-30T17:00:00Z"},
		{"2031-04-01", "2031-03-31T22:00:00Z", "2031-03-31T17:00:00Z"},
	}
	for _, w := range want {
		done := *cur.DueDate // completed on its day, early in the morning
		next, ok, err := recurrence.Successor(cur, done.Add(2*time.Hour), done)
		if err != nil || !ok {
			t.Fatalf("successor of %s: %v %v", cur.AllDay.Date, ok, err)
		}
		if next.AllDay == nil || next.AllDay.Date != w.date || next.DueDate.Format(time.RFC3339) != w.start ||
			next.ReminderTime.Format(time.RFC3339) != w.reminder || next.AllDay.Zone != "Europe/Berlin" {
			t.Fatalf("after %s: %+v due %v reminder %v, want %+v", cur.AllDay.Date, next.AllDay, next.DueDate, next.ReminderTime, w)
		}
		if err := next.Validate(); err != nil {
			t.Fatal(err)
		}
		cur = next
	}
	// Completed late, three days after its date: the next date is after the day of completion.
	late := cur.AllDay.End.Add(26 * time.Hour) // 02:00 on 2031-04-03 in Berlin
	next, _, _ := recurrence.Successor(cur, late, late)
	if next.AllDay.Date != "2031-04-04" {
		t.Fatalf("completed on 2031-04-03: next %s", next.AllDay.Date)
	}
	// The preview's DATE series gives dates.
	days, err := recurrence.DateOccurrences(task.Recurrence{Frequency: "weekly", Interval: 1, Timezone: "Europe/Berlin", Occurrences: 3},
		time.Date(2031, 3, 28, 0, 0, 0, 0, time.UTC), 10)
	if err != nil || len(days) != 3 || days[2].Format(task.DateLayout) != "2031-04-11" {
		t.Fatalf("weekly dates: %v %v", days, err)
	}
}

// TestDateSeriesFromCompletion: an all-day series that repeats from
// completion re-anchors at the date it was completed on in its zone (00:30
// on 2031-03-30 in Berlin, still the 29th in UTC), plus the interval (not
// the series' own next date, 2031-04-01), and COUNT still ends it.
func TestDateSeriesFromCompletion(t *testing.T) {
	in, _, err := task.ParseInput([]byte(`{"title":"descale","due_date":"2031-03-20",
		"recurrence_pattern":{"frequency":"daily","interval":3,"repeat_from":"completion","occurrences":3}}`))
	if err != nil {
		t.Fatal(err)
	}
	in.Settings = &task.Settings{Timezone: "Europe/Berlin"}
	cur, err := task.New("u", in, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	cur.Occurrence = 1
	// Done at 00:30 on 2031-03-30 in Berlin (23:30Z on the 29th): three days from the 30th.
	done := time.Date(2031, 3, 29, 23, 30, 0, 0, time.UTC)
	next, ok, err := recurrence.Successor(cur, done, done)
	if err != nil || !ok || next.AllDay == nil || next.AllDay.Date != "2031-04-02" || next.Occurrence != 2 {
		t.Fatalf("after completion on 2031-03-30: %+v %v %v (occurrence %d)", next.AllDay, ok, err, next.Occurrence)
	}
	// The third occurrence is the last: COUNT 3.
	third, ok, _ := recurrence.Successor(next, next.AllDay.End, next.AllDay.End)
	if !ok || third.Occurrence != 3 {
		t.Fatalf("third: %v %d", ok, third.Occurrence)
	}
	if _, ok, _ := recurrence.Successor(third, third.AllDay.End, third.AllDay.End); ok {
		t.Fatal("a fourth occurrence of a COUNT=3 series")
	}
}
