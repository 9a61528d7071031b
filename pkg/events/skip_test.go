package events

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/task"
)

// TestSkippedEvent: skipping emits task.skipped alone, with data like
// task.completed's (the task, no previous, the series' anchor and the
// occurrence number); its history entry is the status change; reopening a
// skipped task is a task.updated.
func TestSkippedEvent(t *testing.T) {
	now := time.Date(2027, 3, 21, 12, 0, 0, 0, time.UTC)
	due := now.Add(24 * time.Hour)
	prev := task.Task{ID: "t1", UserID: "alice", Title: "stand-up", Status: task.Active, Priority: task.Medium,
		Tags: []string{}, DueDate: &due, IsRecurring: true, SeriesStart: &due, Occurrence: 3,
		Recurrence: &task.Recurrence{Frequency: task.Weekly, Interval: 1, Timezone: "UTC", RepeatFrom: task.RepeatFromCompletion}}
	next, ch, err := prev.Skip(now)
	if err != nil || !ch {
		t.Fatalf("skip: %v %v", ch, err)
	}
	evs := Changed("", prev, next)
	if len(evs) != 1 || evs[0].Type != TaskSkipped || evs[0].Subject != "t1" || !evs[0].Time.Equal(now) {
		t.Fatalf("events %+v", evs)
	}
	var d TaskData
	if err := json.Unmarshal(evs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Task.Status != task.Skipped || d.Task.CompletedAt != nil || d.Previous != nil || d.UserID != "alice" ||
		d.Occurrence != 3 || d.SeriesStart == nil || d.Task.Recurrence.RepeatFrom != task.RepeatFromCompletion {
		t.Errorf("data %s", evs[0].Data)
	}
	ch2 := ChangesOf(TaskSkipped, d)
	if len(ch2) != 1 || string(ch2["status"].From) != `"active"` || string(ch2["status"].To) != `"skipped"` {
		t.Errorf("changes %v", ch2)
	}
	reopened := next
	reopened.Status = task.Active
	if evs := Changed("", next, reopened); len(evs) != 1 || evs[0].Type != TaskUpdated {
		t.Errorf("reopen events %+v", evs)
	}
}
