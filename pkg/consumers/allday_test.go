package consumers_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/task"
)

// TestAllDaySuccessor: completing a recurring all-day task delivers a
// task.completed whose successor, made by the recurrence function from the
// event alone, is all-day on the series' next date, in the task's zone,
// across the DST change of America/Los_Angeles (2031-03-09).
func TestAllDaySuccessor(t *testing.T) {
	e := newEnv(t, consumers.Recurrence)
	in, _, err := task.ParseInput([]byte(`{"title":"Journal","due_date":"2031-03-08","recurrence_pattern":{"frequency":"daily"}}`))
	if err != nil {
		t.Fatal(err)
	}
	in.Settings = &task.Settings{Timezone: "America/Los_Angeles", AllDayReminderMinutes: 8 * 60}
	tk, err := task.New("alice", in, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	first, _, err := e.st.Create(context.Background(), ops.Insert(tk), nil)
	if err != nil {
		t.Fatal(err)
	}
	if status := e.deliver(completedEvent(t, e, first.ID), false); status != http.StatusAccepted {
		t.Fatalf("delivery: %d", status)
	}
	page, _, err := e.st.List(context.Background(), "alice", task.ListQuery{Status: task.Active, Sort: task.SortDue, Limit: 10})
	if err != nil || len(page) != 1 {
		t.Fatalf("successors: %v %v", page, err)
	}
	succ := page[0]
	// Completed now (long before 2031): the next date after 2031-03-08.
	if succ.AllDay == nil || succ.AllDay.Date != "2031-03-09" || succ.AllDay.Zone != "America/Los_Angeles" ||
		succ.DueDate.Format(time.RFC3339) != "2031-03-09T08:00:00Z" || succ.AllDay.End.Format(time.RFC3339) != "2031-03-10T07:00:00Z" {
		t.Fatalf("successor %+v due %v", succ.AllDay, succ.DueDate)
	}
	if b, _ := succ.ReminderBase(); b.Format(time.RFC3339) != "2031-03-09T15:00:00Z" { // 08:00 PDT
		t.Fatalf("reminder base %v", b)
	}
}
