package ical_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/taskflow/taskflow/pkg/ical"
	"github.com/taskflow/taskflow/pkg/task"
)

func vtimezone(t *testing.T, zone string, from, now time.Time) string {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := ical.Timezone(loc, from, now).SerializeTo(&b, &ics.SerializationConfiguration{MaxLength: 75, NewLine: "\r\n"}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestTimezoneRules: Berlin's future is its EU rules as RRULEs (last Sunday
// of March and of October), its past the listed transitions; a zone without
// DST is one STANDARD observance.
func TestTimezoneRules(t *testing.T) {
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	berlin := vtimezone(t, "Europe/Berlin", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), now)
	for _, want := range []string{"TZID:Europe/Berlin", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
		"DTSTART:20240331T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST",
		"DTSTART:20241027T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET"} {
		if !strings.Contains(berlin, want) {
			t.Errorf("Berlin's VTIMEZONE lacks %q:\n%s", want, berlin)
		}
	}
	ny := vtimezone(t, "America/New_York", time.Time{}, now)
	if !strings.Contains(ny, "BYMONTH=3;BYDAY=2SU") || !strings.Contains(ny, "BYMONTH=11;BYDAY=1SU") {
		t.Errorf("New York's rules:\n%s", ny)
	}
	tokyo := vtimezone(t, "Asia/Tokyo", time.Time{}, now)
	if strings.Count(tokyo, "BEGIN:STANDARD") != 1 || strings.Contains(tokyo, "DAYLIGHT") || !strings.Contains(tokyo, "TZOFFSETTO:+0900") {
		t.Errorf("Tokyo's VTIMEZONE:\n%s", tokyo)
	}
}

// TestTodoText: a carriage return never reaches a content line raw, and
// the priority follows RFC 5545 §3.8.1.9.
func TestTodoText(t *testing.T) {
	now := time.Date(2031, 5, 4, 9, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	w := ical.NewWriter(&b, "Mine; yours", nil, time.Time{}, now)
	if err := w.Task(task.Task{ID: "t1", Title: "a\r\nb\rc", Description: "x\x01y", Priority: task.Low, CreatedAt: now, UpdatedAt: now, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{"SUMMARY:a\\nb\\nc\r\n", "DESCRIPTION:xy\r\n", "PRIORITY:9\r\n", "X-WR-CALNAME:Mine\\; yours\r\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("lacks %q:\n%s", want, s)
		}
	}
	if strings.Count(s, "\r") != strings.Count(s, "\r\n") {
		t.Errorf("a bare CR:\n%q", s)
	}
	for p, want := range map[task.Priority]int{task.Urgent: 1, task.High: 3, task.Medium: 5, task.Low: 9} {
		if got := ical.Priority(p); got != want {
			t.Errorf("%s: %d, want %d", p, got, want)
		}
	}
}
