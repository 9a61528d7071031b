package recurrence

import (
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/task"
)

func at(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02T15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// all lists up to n occurrences of p from dtstart, as local "2006-01-02T15:04".
func all(t *testing.T, p task.Recurrence, dtstart time.Time, n int) []string {
	t.Helper()
	got, err := Occurrences(p, dtstart, n)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := p.Location()
	var out []string
	for _, v := range got {
		out = append(out, v.In(loc).Format("2006-01-02T15:04"))
	}
	return out
}

// TestRFC5545Examples: examples of RFC 5545 §3.8.5.3, DTSTART in America/New_York.
func TestRFC5545Examples(t *testing.T) {
	cases := []struct {
		name, rule, start string
		n                 int
		want              string
	}{
		{"daily for 10 occurrences", "FREQ=DAILY;COUNT=10", "1997-09-02T09:00", 20,
			"1997-09-02 1997-09-03 1997-09-04 1997-09-05 1997-09-06 1997-09-07 1997-09-08 1997-09-09 1997-09-10 1997-09-11"},
		{"every other day", "FREQ=DAILY;INTERVAL=2", "1997-09-02T09:00", 5,
			"1997-09-02 1997-09-04 1997-09-06 1997-09-08 1997-09-10"},
		{"weekly for 10 occurrences, across the end of DST", "FREQ=WEEKLY;COUNT=10", "1997-09-02T09:00", 20,
			"1997-09-02 1997-09-09 1997-09-16 1997-09-23 1997-09-30 1997-10-07 1997-10-14 1997-10-21 1997-10-28 1997-11-04"},
		{"monthly on the first Friday for 10 occurrences", "FREQ=MONTHLY;COUNT=10;BYDAY=1FR", "1997-09-05T09:00", 20,
			"1997-09-05 1997-10-03 1997-11-07 1997-12-05 1998-01-02 1998-02-06 1998-03-06 1998-04-03 1998-05-01 1998-06-05"},
		{"monthly on the second-to-last Monday for 6 months", "FREQ=MONTHLY;COUNT=6;BYDAY=-2MO", "1997-09-22T09:00", 20,
			"1997-09-22 1997-10-20 1997-11-17 1997-12-22 1998-01-19 1998-02-16"},
		{"every Tuesday, every other month", "FREQ=MONTHLY;INTERVAL=2;BYDAY=TU", "1997-09-02T09:00", 13,
			"1997-09-02 1997-09-09 1997-09-16 1997-09-23 1997-09-30 1997-11-04 1997-11-11 1997-11-18 1997-11-25 1998-01-06 1998-01-13 1998-01-20 1998-01-27"},
		{"yearly in June and July for 10 occurrences", "FREQ=YEARLY;COUNT=10;BYMONTH=6,7", "1997-06-10T09:00", 20,
			"1997-06-10 1997-07-10 1998-06-10 1998-07-10 1999-06-10 1999-07-10 2000-06-10 2000-07-10 2001-06-10 2001-07-10"},
		{"third of Tuesday, Wednesday or Thursday for 3 months", "FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3", "1997-09-04T09:00", 10,
			"1997-09-04 1997-10-07 1997-11-06"},
		{"last day of the month", "FREQ=MONTHLY;BYMONTHDAY=-1", "1997-09-30T09:00", 6,
			"1997-09-30 1997-10-31 1997-11-30 1997-12-31 1998-01-31 1998-02-28"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := task.Recurrence{RRule: c.rule, Timezone: "America/New_York"}
			got := all(t, p, at(t, "America/New_York", c.start), c.n)
			var days []string
			for _, g := range got {
				if !strings.HasSuffix(g, "T09:00") {
					t.Errorf("%s: wall-clock time not kept", g)
				}
				days = append(days, strings.TrimSuffix(g, "T09:00"))
			}
			if strings.Join(days, " ") != c.want {
				t.Errorf("got  %s\nwant %s", strings.Join(days, " "), c.want)
			}
		})
	}
}

func TestPatternFields(t *testing.T) {
	cases := []struct {
		name  string
		p     task.Recurrence
		start string
		want  string
	}{
		{"monthly on the 31st skips short months", task.Recurrence{Frequency: task.Monthly, DayOfMonth: 31}, "2027-01-31T08:00",
			"2027-01-31T08:00 2027-03-31T08:00 2027-05-31T08:00 2027-07-31T08:00"},
		{"monthly on the last day", task.Recurrence{Frequency: task.Monthly, DayOfMonth: -1}, "2027-01-31T08:00",
			"2027-01-31T08:00 2027-02-28T08:00 2027-03-31T08:00 2027-04-30T08:00"},
		{"weekly Monday and Wednesday across the DST change", task.Recurrence{Frequency: task.Weekly, DaysOfWeek: []int{1, 3}, Timezone: "Europe/Berlin"},
			"2027-03-22T09:00", "2027-03-22T09:00 2027-03-24T09:00 2027-03-29T09:00 2027-03-31T09:00"},
		{"every 2 days, 3 occurrences", task.Recurrence{Frequency: task.Daily, Interval: 2, Occurrences: 3}, "2027-01-01T10:00",
			"2027-01-01T10:00 2027-01-03T10:00 2027-01-05T10:00"},
		{"yearly on 29 February", task.Recurrence{Frequency: task.Yearly, Month: 2, DayOfMonth: 29}, "2028-02-29T07:00",
			"2028-02-29T07:00 2032-02-29T07:00 2036-02-29T07:00 2040-02-29T07:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			z := c.p.Timezone
			if z == "" {
				z = "UTC"
			}
			got := strings.Join(all(t, c.p, at(t, z, c.start), 4), " ")
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
	// Berlin 09:00 is 08:00 UTC before the change and 07:00 UTC after it.
	p := task.Recurrence{Frequency: task.Weekly, DaysOfWeek: []int{1}, Timezone: "Europe/Berlin"}
	next, ok, err := Next(p, at(t, "Europe/Berlin", "2027-03-22T09:00"), at(t, "Europe/Berlin", "2027-03-22T09:00"))
	if err != nil || !ok || !next.Equal(time.Date(2027, 3, 29, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("next after DST = %v %v %v", next, ok, err)
	}
}

func TestSuccessor(t *testing.T) {
	due := time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)
	rem := due.Add(-15 * time.Minute)
	series := "s1"
	prev := task.Task{UserID: "u", Title: "Standup", Priority: task.High, Tags: []string{"work"}, DueDate: &due, ReminderTime: &rem,
		IsRecurring: true, Recurrence: &task.Recurrence{Frequency: task.Daily, Interval: 1, Occurrences: 5, Timezone: "UTC"},
		SeriesID: &series, SeriesStart: &due, Status: task.Completed}
	now := due.Add(100 * time.Hour)
	// Completed on time: the next day.
	next, ok, err := Successor(prev, due.Add(time.Hour), now)
	if err != nil || !ok || !next.DueDate.Equal(due.AddDate(0, 0, 1)) || !next.ReminderTime.Equal(next.DueDate.Add(-15*time.Minute)) ||
		next.Title != "Standup" || next.Status != task.Active || *next.SeriesID != "s1" || !next.SeriesStart.Equal(due) {
		t.Fatalf("successor %+v %v %v", next, ok, err)
	}
	// Completed four days late: the first occurrence after the completion.
	next, ok, _ = Successor(prev, due.Add(75*time.Hour), now)
	if !ok || !next.DueDate.Equal(due.AddDate(0, 0, 4)) {
		t.Errorf("late completion: %v", next.DueDate)
	}
	// COUNT holds across the series: the 5th occurrence has no successor.
	fifth := prev
	d5 := due.AddDate(0, 0, 4)
	fifth.DueDate = &d5
	if _, ok, _ := Successor(fifth, d5, now); ok {
		t.Error("a series of 5 got a 6th occurrence")
	}
	// No due date: recurs from the completion time.
	free := prev
	free.DueDate, free.ReminderTime, free.SeriesStart = nil, nil, nil
	free.Recurrence = &task.Recurrence{Frequency: task.Weekly, Interval: 1, Timezone: "UTC"}
	done := time.Date(2027, 2, 3, 17, 30, 0, 0, time.UTC)
	next, ok, _ = Successor(free, done, now)
	if !ok || !next.DueDate.Equal(done.AddDate(0, 0, 7)) || next.ReminderTime != nil {
		t.Errorf("without due date: %v", next.DueDate)
	}
	// UNTIL ends the series.
	until := prev
	end := due.Add(30 * time.Hour)
	until.Recurrence = &task.Recurrence{Frequency: task.Daily, Interval: 1, EndDate: &end, Timezone: "UTC"}
	d2 := due.AddDate(0, 0, 1)
	until.DueDate = &d2
	if _, ok, _ := Successor(until, d2, now); ok {
		t.Error("an occurrence after end_date")
	}
	if _, ok, _ := Successor(task.Task{}, now, now); ok {
		t.Error("a task that does not recur got a successor")
	}
	// A series ends where TaskFlow's dates end: daily at 20:00 in New York,
	// the occurrence after 9999-12-30 is 9999-12-31 locally but in year
	// 10000 in UTC, which JSON, events and Dapr cannot carry.
	last := prev
	d9999 := time.Date(9999, 12, 31, 1, 0, 0, 0, time.UTC) // 9999-12-30T20:00-05:00
	last.DueDate, last.SeriesStart, last.ReminderTime = &d9999, &d9999, nil
	last.Recurrence = &task.Recurrence{Frequency: task.Daily, Interval: 1, Timezone: "America/New_York"}
	if next, ok, err := Successor(last, d9999, now); ok || err != nil {
		t.Errorf("a successor past task.MaxTime: %v %v %v", next.DueDate, ok, err)
	}
}

func TestNeverMatchingRuleEnds(t *testing.T) {
	p := task.Recurrence{RRule: "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, ok, err := Next(p, start, start); ok || err == nil {
		t.Errorf("impossible date: ok=%v err=%v", ok, err)
	}
}

// FuzzNext: any pattern that validates yields, quickly and without a panic,
// either no occurrence or one strictly after the given time.
func FuzzNext(f *testing.F) {
	f.Add("weekly", 1, 3, 0, 0, "Europe/Berlin", "", int64(0))
	f.Add("monthly", 2, -1, 31, 0, "UTC", "", int64(86400*40))
	f.Add("", 0, 0, 0, 0, "America/New_York", "FREQ=MONTHLY;BYDAY=2TU;COUNT=5", int64(86400*400))
	f.Fuzz(func(t *testing.T, freq string, interval, dow, dom, month int, tz, rule string, afterSecs int64) {
		p := task.Recurrence{Frequency: freq, Interval: interval, DayOfMonth: dom, Month: month, Timezone: tz, RRule: rule}
		if dow >= 0 && dow <= 6 && freq == task.Weekly {
			p.DaysOfWeek = []int{dow}
		}
		tk := task.Task{Title: "x", Priority: task.Medium, Status: task.Active, IsRecurring: true, Recurrence: &p, Tags: []string{}}
		if tk.Validate() != nil || strings.Contains(rule, "YEARDAY") || strings.Contains(rule, "WEEKNO") {
			return
		}
		start := time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)
		after := start.Add(time.Duration(afterSecs%(86400*3650)) * time.Second)
		v, ok, err := Next(*tk.Recurrence, start, after)
		if err == nil && ok && !v.After(after) {
			t.Fatalf("next %v is not after %v", v, after)
		}
	})
}
