package task

import (
	"testing"
	"time"
)

// TestAllDayRelativeReminders: an all-day task's relative reminders count
// back from its reminder base (the day's start plus the user's all-day
// reminder time, in its zone), days as wall-clock days; an absolute one may
// be any time before the day ends, not after.
func TestAllDayRelativeReminders(t *testing.T) {
	berlin9 := Settings{Timezone: "Europe/Berlin", AllDayReminderMinutes: 9 * 60}
	tk := allDay(t, `{"title":"x","due_date":"2031-05-04","reminders":[{"before_due":"PT0S"},{"before_due":"P1D"},
		{"at":"2031-05-04T21:59:00Z"}]}`, berlin9)
	want := []time.Time{time.Date(2031, 5, 3, 7, 0, 0, 0, time.UTC), time.Date(2031, 5, 4, 7, 0, 0, 0, time.UTC),
		time.Date(2031, 5, 4, 21, 59, 0, 0, time.UTC)}
	if got := tk.ReminderTimes(); len(got) != 3 || !got[0].Equal(want[0]) || !got[1].Equal(want[1]) || !got[2].Equal(want[2]) {
		t.Fatalf("reminders %v, want %v", got, want)
	}
	if !tk.ReminderTime.Equal(want[0]) {
		t.Errorf("reminder_time %v, want the earliest", tk.ReminderTime)
	}
	// 00:00 on the 5th in Berlin is past the day: refused.
	in, _, _ := ParseInput([]byte(`{"title":"x","due_date":"2031-05-04","reminders":[{"at":"2031-05-04T22:00:00Z"}]}`))
	in.Settings = &berlin9
	_, err := New("u", in, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if f := fields(t, err); f["reminders[0].at"] == "" {
		t.Errorf("a reminder after the all-day date ends: %v", err)
	}
	// Across the spring change (Berlin, 2031-03-30), P1D before 09:00 is
	// 09:00 the day before, in winter time.
	tk = allDay(t, `{"title":"x","due_date":"2031-03-30","reminders":[{"before_due":"P1D"}]}`, berlin9)
	if got := tk.ReminderTimes(); len(got) != 1 || !got[0].Equal(time.Date(2031, 3, 29, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("P1D across DST: %v", got)
	}
}

// TestAllDayCarryReminders: a successor of an all-day series keeps its
// relative reminders from its own base and its absolute ones at the same
// wall-clock time and days before, across a DST change.
func TestAllDayCarryReminders(t *testing.T) {
	berlin9 := Settings{Timezone: "Europe/Berlin", AllDayReminderMinutes: 9 * 60}
	prev := allDay(t, `{"title":"x","due_date":"2031-03-29","reminders":[{"before_due":"PT1H"},{"at":"2031-03-28T19:00:00Z"}],
		"recurrence_pattern":{"frequency":"daily"}}`, berlin9)
	next := prev
	next.SetAllDay(time.Date(2031, 3, 30, 0, 0, 0, 0, time.UTC), prev.AllDay.Zone, prev.AllDay.BaseMinutes)
	got := CarryReminders(prev, next)
	// 08:00 summer time on the 30th (06:00Z); 20:00 on the 29th, still winter time (19:00Z).
	if len(got) != 2 || !got[0].At.Equal(time.Date(2031, 3, 29, 19, 0, 0, 0, time.UTC)) || got[0].Relative() ||
		!got[1].At.Equal(time.Date(2031, 3, 30, 6, 0, 0, 0, time.UTC)) || got[1].BeforeDue != "PT1H" {
		t.Errorf("carried %+v", got)
	}
}
