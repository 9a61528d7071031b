package events

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/task"
)

// TestAllDayInEvents: an all-day task's events show due_date as the date,
// as the API does, carry its zone beside it so that a consumer rebuilds the
// task exactly, and the history's change shows the date form.
func TestAllDayInEvents(t *testing.T) {
	in, _, err := task.ParseInput([]byte(`{"title":"Pay rent","due_date":"2031-05-04"}`))
	if err != nil {
		t.Fatal(err)
	}
	in.Settings = &task.Settings{Timezone: "Pacific/Auckland"}
	tk, err := task.New("alice", in, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	tk.ID = "0193f0c2-0000-7000-8000-000000000001"
	e := Created("/taskflow/create", tk)[0]
	var raw struct {
		Task   map[string]any `json:"task"`
		AllDay map[string]any `json:"all_day"`
	}
	if err := json.Unmarshal(e.Data, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Task["due_date"] != "2031-05-04" || raw.AllDay["zone"] != "Pacific/Auckland" {
		t.Fatalf("event data: %s", e.Data)
	}
	var d TaskData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	d.Task.RestoreAllDay(d.AllDay)
	if !d.Task.DueDate.Equal(*tk.DueDate) || d.Task.AllDay.Zone != "Pacific/Auckland" {
		t.Fatalf("rebuilt %v %+v, want %v", d.Task.DueDate, d.Task.AllDay, tk.DueDate)
	}
	if c := ChangesOf(TaskCreated, d)["due_date"]; string(c.To) != `"2031-05-04"` {
		t.Fatalf("history change: %s", c.To)
	}
}
