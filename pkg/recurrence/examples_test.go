package recurrence

import (
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/task"
)

func utc(s string) time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return v
}

// chain completes each occurrence of a series on time, from its first task
// due at first, and lists the due dates of the tasks the series makes.
func chain(t *testing.T, p task.Recurrence, first time.Time, max int) []string {
	t.Helper()
	due := first
	prev := task.Task{UserID: "u", Title: "x", Priority: task.Medium, Tags: []string{}, DueDate: &due, IsRecurring: true,
		Recurrence: &p, SeriesStart: &due, Status: task.Completed}
	out := []string{first.Format(time.RFC3339)}
	for range max {
		next, ok, err := Successor(prev, *prev.DueDate, first)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		out = append(out, next.DueDate.Format(time.RFC3339))
		prev = next
	}
	return out
}

// TestDSTGapTakesTheOffsetBefore: API.md §5 and RFC 5545 §3.3.5: 02:30 on
// the night Los Angeles' clocks go from 02:00 to 03:00 is 02:30 PST, 03:30
// new time, 10:30Z.
func TestDSTGapTakesTheOffsetBefore(t *testing.T) {
	for _, p := range []task.Recurrence{
		{Frequency: task.Daily, Interval: 1, Timezone: "America/Los_Angeles"},
		{RRule: "FREQ=DAILY", Timezone: "America/Los_Angeles"},
	} {
		got := chain(t, p, utc("2030-03-08T10:30:00Z"), 3)
		want := []string{"2030-03-08T10:30:00Z", "2030-03-09T10:30:00Z", "2030-03-10T10:30:00Z", "2030-03-11T09:30:00Z"}
		if len(got) != len(want) {
			t.Fatalf("%+v: %v, want %v", p, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%+v: occurrence %d is %s, want %s", p, i, got[i], want[i])
			}
		}
	}
}

// TestDSTOverlapTakesTheFirst: 01:30 on the night Los Angeles' clocks go
// back from 02:00 to 01:00 happens twice; the occurrence is the first, PDT.
func TestDSTOverlapTakesTheFirst(t *testing.T) {
	p := task.Recurrence{Frequency: task.Daily, Interval: 1, Timezone: "America/Los_Angeles"}
	start := utc("2030-11-01T08:30:00Z") // 01:30 PDT
	next, ok, err := Next(p, start, utc("2030-11-02T08:30:00Z"))
	if err != nil || !ok || !next.Equal(utc("2030-11-03T08:30:00Z")) {
		t.Errorf("occurrence on 3 November = %v %v %v, want 2030-11-03T08:30:00Z (01:30 PDT)", next, ok, err)
	}
	// In Europe/London the clocks go back from 02:00 BST to 01:00 GMT.
	p.Timezone = "Europe/London"
	next, ok, err = Next(p, utc("2030-10-25T00:30:00Z"), utc("2030-10-26T00:30:00Z"))
	if err != nil || !ok || !next.Equal(utc("2030-10-27T00:30:00Z")) {
		t.Errorf("London occurrence on 27 October = %v %v %v, want 2030-10-27T00:30:00Z (01:30 BST)", next, ok, err)
	}
}

// TestCountCountsTheFirstTask: API.md §5, RFC 5545 §3.3.10: weekly on
// Wednesday, 3 occurrences, first due on a Sunday: that Sunday and the next
// two Wednesdays, then none.
func TestCountCountsTheFirstTask(t *testing.T) {
	for _, p := range []task.Recurrence{
		{Frequency: task.Weekly, Interval: 1, DaysOfWeek: []int{3}, Occurrences: 3, Timezone: "UTC"},
		{RRule: "FREQ=WEEKLY;BYDAY=WE;COUNT=3", Timezone: "UTC"},
	} {
		got := chain(t, p, utc("2030-06-02T09:00:00Z"), 5)
		want := []string{"2030-06-02T09:00:00Z", "2030-06-05T09:00:00Z", "2030-06-12T09:00:00Z"}
		if len(got) != len(want) {
			t.Fatalf("%+v: %v, want %v", p, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%+v: occurrence %d is %s, want %s", p, i, got[i], want[i])
			}
		}
	}
}

// TestPathologicalRulesAreCheap: rules that never occur, or would expand to
// millions of instants, are refused when a task is validated, and a step of
// such a series (a pattern stored before this check, or one with no due date
// to check against) stops within its bound quickly instead of walking to the
// year 9999 or filling memory.
func TestPathologicalRulesAreCheap(t *testing.T) {
	start := utc("2030-01-01T09:00:00Z")
	for _, rule := range []string{
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31",
		"FREQ=DAILY;INTERVAL=7;BYDAY=MO",                 // from a Tuesday: every seventh day is a Tuesday
		"FREQ=MONTHLY;INTERVAL=2;BYMONTH=2,4",            // from January: odd months only
		"FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", // from 2030: 2034, 2038, … never a leap year
		"FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYMONTHDAY=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20," +
			"21,22,23,24,25,26,27,28,29,30,31;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;" +
			"BYMINUTE=0,10,20,30,40,50;BYSECOND=0,10,20,30,40,50;BYSETPOS=-1", // 19 million instants a year
	} {
		p := task.Recurrence{RRule: rule, Timezone: "Europe/Berlin"}
		due := start
		tk := task.Task{Title: "x", Priority: task.Medium, Status: task.Active, Tags: []string{}, DueDate: &due, IsRecurring: true, Recurrence: &p}
		t0 := time.Now()
		if err := tk.Validate(); err == nil {
			t.Errorf("%s accepted", rule)
		}
		_, ok, err := Next(p, start, start)
		if took := time.Since(t0); ok || err == nil || took > 500*time.Millisecond {
			t.Errorf("%s: next ok=%v err=%v in %v, want an error within 500ms", rule, ok, err, took)
		}
	}
}

// BenchmarkNextNeverMatching: one step of a daily rule that never occurs
// from its DTSTART (a Tuesday), walked until the search bound stops it.
func BenchmarkNextNeverMatching(b *testing.B) {
	p := task.Recurrence{RRule: "FREQ=DAILY;INTERVAL=7;BYDAY=MO", Timezone: "UTC"}
	start := utc("2030-01-01T09:00:00Z")
	for b.Loop() {
		if _, ok, _ := Next(p, start, start); ok {
			b.Fatal("an occurrence")
		}
	}
}
