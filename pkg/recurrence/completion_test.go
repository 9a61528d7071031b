package recurrence

import (
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/task"
)

const berlin = "Europe/Berlin"

// occurrenceAfter is the successor of occurrence n of a series anchored at
// start, done at done, as local "2006-01-02T15:04" in the pattern's zone
// ("" when the series has ended).
func occurrenceAfter(t *testing.T, p task.Recurrence, start time.Time, n int, due, done time.Time) string {
	t.Helper()
	prev := task.Task{UserID: "u", Title: "t", Status: task.Completed, Priority: task.Medium, Tags: []string{},
		DueDate: &due, IsRecurring: true, Recurrence: &p, SeriesStart: &start, Occurrence: n}
	next, ok, err := Successor(prev, done, done)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return ""
	}
	if next.Occurrence != n+1 || !next.SeriesStart.Equal(start) {
		t.Errorf("successor is occurrence %d of the series from %v, want %d from %v", next.Occurrence, next.SeriesStart, n+1, start)
	}
	loc, _ := p.Location()
	return next.DueDate.In(loc).Format("2006-01-02T15:04")
}

// TestRepeatFromCompletion: the next due date is the completion's date in the
// series' zone plus the interval, at the series' time of day (the rule
// re-anchored at that date), across Berlin's change to summer time on
// 2027-03-28, whether the occurrence was done late or early.
func TestRepeatFromCompletion(t *testing.T) {
	every2days := task.Recurrence{Frequency: task.Daily, Interval: 2, Timezone: berlin, RepeatFrom: task.RepeatFromCompletion}
	start := at(t, berlin, "2027-03-20T09:00")
	cases := []struct {
		name      string
		p         task.Recurrence
		due, done string
		want      string
	}{
		// The example: completed on the evening of the 27th (CET),
		// next due two days on at 09:00, now CEST (07:00 UTC).
		{"late, across the DST change", every2days, "2027-03-26T09:00", "2027-03-27T20:00", "2027-03-29T09:00"},
		{"early: counts from the completion, not the due date", every2days, "2027-03-30T09:00", "2027-03-27T08:00", "2027-03-29T09:00"},
		// 23:30 local on the 27th is the 27th in Berlin, though the 27th 22:30 UTC.
		{"the date is the zone's", every2days, "2027-03-26T09:00", "2027-03-27T23:30", "2027-03-29T09:00"},
		{"weekly", task.Recurrence{Frequency: task.Weekly, Interval: 1, Timezone: berlin, RepeatFrom: task.RepeatFromCompletion},
			"2027-03-22T09:00", "2027-03-25T18:00", "2027-04-01T09:00"},
		{"monthly", task.Recurrence{Frequency: task.Monthly, Interval: 1, Timezone: berlin, RepeatFrom: task.RepeatFromCompletion},
			"2027-02-20T09:00", "2027-03-03T12:00", "2027-04-03T09:00"},
		// Several days a week: the next matching day after the completion's
		// date (RFC 5545 from the re-anchored DTSTART), Wednesday after a Tuesday.
		{"weekly on Monday and Wednesday", task.Recurrence{Frequency: task.Weekly, Interval: 1, DaysOfWeek: []int{1, 3},
			Timezone: berlin, RepeatFrom: task.RepeatFromCompletion}, "2027-03-22T09:00", "2027-03-23T10:00", "2027-03-24T09:00"},
		{"an rrule", task.Recurrence{RRule: "FREQ=MONTHLY;BYMONTHDAY=1", Timezone: berlin, RepeatFrom: task.RepeatFromCompletion},
			"2027-03-01T09:00", "2027-03-01T10:00", "2027-04-01T09:00"},
		// From due dates, the same completion keeps the series' own dates.
		{"repeat from due, for comparison", task.Recurrence{Frequency: task.Daily, Interval: 2, Timezone: berlin},
			"2027-03-26T09:00", "2027-03-27T20:00", "2027-03-28T09:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := occurrenceAfter(t, c.p, start, 4, at(t, berlin, c.due), at(t, berlin, c.done))
			if got != c.want {
				t.Errorf("next due %s, want %s", got, c.want)
			}
		})
	}
	// 07:00 UTC exactly: summer time.
	p := every2days
	due := at(t, berlin, "2027-03-26T09:00")
	prev := task.Task{DueDate: &due, IsRecurring: true, Recurrence: &p, SeriesStart: &start, Occurrence: 1, Status: task.Completed}
	next, _, _ := Successor(prev, at(t, berlin, "2027-03-27T20:00"), due)
	if want := time.Date(2027, 3, 29, 7, 0, 0, 0, time.UTC); !next.DueDate.Equal(want) {
		t.Errorf("next due %v, want %v", next.DueDate.UTC(), want)
	}
}

// TestRepeatFromCompletionInGap: a series at 02:30 in Berlin done on the
// 27th is next due on the 28th, when 02:30 does not exist: 03:30 CEST (RFC
// 5545 §3.3.5, the offset before the gap), and 02:30 again the day after.
func TestRepeatFromCompletionInGap(t *testing.T) {
	p := task.Recurrence{Frequency: task.Daily, Interval: 1, Timezone: berlin, RepeatFrom: task.RepeatFromCompletion}
	start := at(t, berlin, "2027-03-20T02:30")
	if got := occurrenceAfter(t, p, start, 2, at(t, berlin, "2027-03-27T02:30"), at(t, berlin, "2027-03-27T12:00")); got != "2027-03-28T03:30" {
		t.Errorf("in the gap: %s, want 2027-03-28T03:30", got)
	}
	if got := occurrenceAfter(t, p, start, 3, at(t, berlin, "2027-03-28T03:30"), at(t, berlin, "2027-03-28T12:00")); got != "2027-03-29T02:30" {
		t.Errorf("after the gap: %s, want 2027-03-29T02:30", got)
	}
}

// TestRepeatFromCompletionEnds: COUNT counts the series' occurrences
// (Occurrence), and end_date still bounds the series.
func TestRepeatFromCompletionEnds(t *testing.T) {
	start := at(t, berlin, "2027-03-20T09:00")
	due := at(t, berlin, "2027-03-22T09:00")
	counted := task.Recurrence{Frequency: task.Daily, Interval: 1, Occurrences: 3, Timezone: berlin, RepeatFrom: task.RepeatFromCompletion}
	if got := occurrenceAfter(t, counted, start, 2, due, at(t, berlin, "2027-03-30T10:00")); got != "2027-03-31T09:00" {
		t.Errorf("occurrence 3 of 3: %q, want 2027-03-31T09:00", got)
	}
	if got := occurrenceAfter(t, counted, start, 3, due, at(t, berlin, "2027-03-30T10:00")); got != "" {
		t.Errorf("after occurrence 3 of 3: %q, want none", got)
	}
	inRule := task.Recurrence{RRule: "FREQ=DAILY;COUNT=2", Timezone: berlin, RepeatFrom: task.RepeatFromCompletion}
	if got := occurrenceAfter(t, inRule, start, 2, due, at(t, berlin, "2027-03-30T10:00")); got != "" {
		t.Errorf("after occurrence 2 of an rrule's COUNT=2: %q, want none", got)
	}
	end := at(t, berlin, "2027-04-01T12:00")
	until := task.Recurrence{Frequency: task.Daily, Interval: 1, EndDate: &end, Timezone: berlin, RepeatFrom: task.RepeatFromCompletion}
	if got := occurrenceAfter(t, until, start, 5, due, at(t, berlin, "2027-03-31T10:00")); got != "2027-04-01T09:00" {
		t.Errorf("before end_date: %q, want 2027-04-01T09:00", got)
	}
	if got := occurrenceAfter(t, until, start, 6, due, at(t, berlin, "2027-04-01T10:00")); got != "" {
		t.Errorf("past end_date: %q, want none", got)
	}
}

// TestPreviewFromCompletion: a preview of a series that repeats from
// completion assumes each occurrence is completed on its due date.
func TestPreviewFromCompletion(t *testing.T) {
	p := task.Recurrence{Frequency: task.Weekly, Interval: 1, DaysOfWeek: []int{1, 3}, Occurrences: 4, Timezone: berlin,
		RepeatFrom: task.RepeatFromCompletion}
	got := all(t, p, at(t, berlin, "2027-03-22T09:00"), 10)
	want := []string{"2027-03-22T09:00", "2027-03-24T09:00", "2027-03-29T09:00", "2027-03-31T09:00"}
	if len(got) != len(want) {
		t.Fatalf("preview %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("preview %v, want %v", got, want)
		}
	}
}
