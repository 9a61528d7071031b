package mcpserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/events"
)

// Reminders on add_task and update_task, and snooze_notification: good,
// bad and another user's.
func TestRemindersAndSnoozeTools(t *testing.T) {
	s := newStack(t)
	cs := s.connect(t, "alice", nil)
	tk := ok(t, cs, "add_task", map[string]any{"title": "Dentist", "due_date": "2031-05-04T09:00:00Z",
		"reminders": []any{map[string]any{"before_due": "PT15M"}, map[string]any{"at": "2031-05-03T18:00:00Z"}}})
	if tk["reminder_time"] != "2031-05-03T18:00:00Z" || !strings.Contains(mustJSON(tk["reminders"]), `"before_due":"PT15M"`) {
		t.Fatalf("add_task: %v", tk)
	}
	id := tk["id"].(string)
	up := ok(t, cs, "update_task", map[string]any{"task_id": id, "due_date": "2031-05-05T09:00:00Z"})
	if !strings.Contains(mustJSON(up["reminders"]), `"2031-05-05T08:45:00Z"`) {
		t.Errorf("update_task did not move the relative reminder: %v", up["reminders"])
	}
	fails(t, cs, "update_task", map[string]any{"task_id": id, "reminders": []any{map[string]any{"before_due": "P1Y"}}},
		"invalid_request", "reminders[0].before_due")

	n, _, _, err := s.store.Notify(context.Background(), events.Notification{UserID: "alice", TaskID: id, Title: "Dentist",
		Message: "m", RemindAt: time.Date(2031, 5, 3, 18, 0, 0, 0, time.UTC), DeliveredAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	got := ok(t, cs, "snooze_notification", map[string]any{"notification_id": n.ID, "minutes": 30})
	if got["id"] != n.ID || got["snoozed_until"] == nil {
		t.Errorf("snooze_notification: %v", got)
	}
	fails(t, cs, "snooze_notification", map[string]any{"notification_id": n.ID}, "invalid_request", "minutes")
	fails(t, cs, "snooze_notification", map[string]any{"notification_id": n.ID, "minutes": 0, "until": "x"}, "invalid_request", "until")
	bob := s.connect(t, "bob", nil)
	fails(t, bob, "snooze_notification", map[string]any{"notification_id": n.ID, "minutes": 30}, "not_found")
}
