package task

import (
	"encoding/json"
	"testing"
	"time"
)

func allDay(t *testing.T, body string, s Settings) Task {
	t.Helper()
	in, _, err := ParseInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	in.Settings = &s
	tk, err := New("u", in, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// TestReminderBase: relative reminders of an all-day task count back from
// the start of its day, or from the user's all_day_reminder_time on it, in
// its zone; of a timed task, from the due instant.
func TestReminderBase(t *testing.T) {
	tk := allDay(t, `{"title":"x","due_date":"2031-05-04"}`, Settings{Timezone: "Europe/Berlin", AllDayReminderMinutes: 9 * 60})
	if b, ok := tk.ReminderBase(); !ok || !b.Equal(time.Date(2031, 5, 4, 7, 0, 0, 0, time.UTC)) {
		t.Fatalf("09:00 in Berlin: %v %v", b, ok)
	}
	tk = allDay(t, `{"title":"x","due_date":"2031-05-04"}`, Settings{Timezone: "America/Los_Angeles"})
	if b, _ := tk.ReminderBase(); !b.Equal(time.Date(2031, 5, 4, 7, 0, 0, 0, time.UTC)) {
		t.Fatalf("start of day in LA: %v", b)
	}
	// The clocks jump from 02:00 to 03:00 in Berlin on 2031-03-30: 02:30 is 03:30 (RFC 5545 §3.3.5).
	tk = allDay(t, `{"title":"x","due_date":"2031-03-30"}`, Settings{Timezone: "Europe/Berlin", AllDayReminderMinutes: 150})
	if b, _ := tk.ReminderBase(); !b.Equal(time.Date(2031, 3, 30, 1, 30, 0, 0, time.UTC)) {
		t.Fatalf("in the gap: %v", b)
	}
	tk = allDay(t, `{"title":"x","due_date":"2031-05-04T10:00:00Z"}`, Settings{Timezone: "Europe/Berlin", AllDayReminderMinutes: 60})
	if b, _ := tk.ReminderBase(); !b.Equal(time.Date(2031, 5, 4, 10, 0, 0, 0, time.UTC)) || tk.AllDay != nil {
		t.Fatalf("timed: %v", b)
	}
	if _, ok := (Task{}).ReminderBase(); ok {
		t.Fatal("a task without a due date has a base")
	}
}

// TestAllDayZone: a recurring all-day task's date is read in its pattern's
// zone; a pattern without one takes the user's. JSON shows the date and
// reads it back.
func TestAllDayZone(t *testing.T) {
	tk := allDay(t, `{"title":"x","due_date":"2031-05-04","recurrence_pattern":{"frequency":"daily","timezone":"Asia/Tokyo"}}`,
		Settings{Timezone: "Europe/Berlin"})
	if tk.AllDay.Zone != "Asia/Tokyo" || !tk.DueDate.Equal(time.Date(2031, 5, 3, 15, 0, 0, 0, time.UTC)) {
		t.Fatalf("pattern zone: %+v %v", tk.AllDay, tk.DueDate)
	}
	tk = allDay(t, `{"title":"x","due_date":"2031-05-04","recurrence_pattern":{"frequency":"daily"}}`, Settings{Timezone: "Europe/Berlin"})
	if tk.AllDay.Zone != "Europe/Berlin" || tk.Recurrence.Timezone != "Europe/Berlin" {
		t.Fatalf("user zone: %+v %+v", tk.AllDay, tk.Recurrence)
	}
	b, _ := json.Marshal(tk)
	var back map[string]any
	_ = json.Unmarshal(b, &back)
	if back["due_date"] != "2031-05-04" {
		t.Fatalf("JSON: %s", b)
	}
	var rt Task
	if err := json.Unmarshal(b, &rt); err != nil || rt.AllDay == nil || rt.AllDay.Date != "2031-05-04" {
		t.Fatalf("decode: %v %+v", err, rt.AllDay)
	}
	rt.RestoreAllDay(tk.AllDay)
	if !rt.DueDate.Equal(*tk.DueDate) || !rt.AllDay.End.Equal(tk.AllDay.End) {
		t.Fatalf("restored %v, want %v", rt.DueDate, tk.DueDate)
	}
}

func TestAllDayEndOfRange(t *testing.T) {
	in, _, err := ParseInput([]byte(`{"title":"x","due_date":"9999-12-31"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New("u", in, time.Now()); err == nil {
		t.Fatal("accepted a day that ends after MaxTime")
	}
}
