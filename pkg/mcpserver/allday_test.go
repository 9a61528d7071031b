package mcpserver_test

import (
	"strings"
	"testing"
)

// TestAllDayTasks: add_task and update_task take a date for due_date (an
// all-day task, read in the user's settings zone); results show the date as
// the API does, and the local rendering says it is all-day.
func TestAllDayTasks(t *testing.T) {
	s := newStack(t)
	cs := s.connect(t, "alice", nil)
	if got := ok(t, cs, "get_settings", map[string]any{}); got["timezone"] != "UTC" || got["all_day_reminder_time"] != "00:00" {
		t.Fatalf("get_settings: %v", got)
	}
	fails(t, cs, "update_settings", map[string]any{"timezone": "Local", "all_day_reminder_time": "25:00"}, "invalid_request",
		"timezone", "all_day_reminder_time")
	if got := ok(t, cs, "update_settings", map[string]any{"timezone": "Pacific/Auckland"}); got["timezone"] != "Pacific/Auckland" {
		t.Fatalf("update_settings: %v", got)
	}
	if code, body := s.rest(t, "bob", "GET", "/api/settings", ""); code != 200 || !strings.Contains(body, `"UTC"`) {
		t.Fatalf("bob's settings: %d %s", code, body)
	}
	added := ok(t, cs, "add_task", map[string]any{"title": "Pay rent", "due_date": "2031-05-04"})
	if added["due_date"] != "2031-05-04" {
		t.Fatalf("due_date: %v", added["due_date"])
	}
	local, _ := added["due_date_local"].(map[string]any)
	if local["all_day"] != true || local["local"] != "2031-05-04" || local["timezone"] != "Pacific/Auckland" || local["weekday"] != "Sunday" {
		t.Fatalf("due_date_local: %v", local)
	}
	updated := ok(t, cs, "update_task", map[string]any{"task_id": added["id"], "due_date": "2031-05-06"})
	if updated["due_date"] != "2031-05-06" {
		t.Fatalf("update_task: %v", updated["due_date"])
	}
	timed := ok(t, cs, "update_task", map[string]any{"task_id": added["id"], "due_date": "2031-05-06T09:00:00Z"})
	if timed["due_date"] != "2031-05-06T09:00:00Z" {
		t.Fatalf("back to timed: %v", timed["due_date"])
	}
	if l, _ := timed["due_date_local"].(map[string]any); l["all_day"] != nil {
		t.Fatalf("timed local says all-day: %v", l)
	}
	fails(t, cs, "add_task", map[string]any{"title": "x", "due_date": "2031-02-30"}, "invalid_request", "due_date")
	prev := ok(t, cs, "preview_recurrence", map[string]any{"due_date": "2031-05-04", "recurrence_pattern": map[string]any{"frequency": "daily"}, "count": 2})
	occ := prev["occurrences"].([]any)
	if len(occ) != 2 || occ[1].(map[string]any)["date"] != "2031-05-05" {
		t.Fatalf("preview: %v", prev)
	}
}
