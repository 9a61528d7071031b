package events

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/task"
)

func TestChangedDerivesTypes(t *testing.T) {
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	base := task.Task{ID: "t1", UserID: "u", Title: "a", Status: task.Active, Priority: task.Medium, Tags: []string{}}
	done, _ := base.Complete(now)
	renamed := base
	renamed.Title = "b"
	renamedDone, _ := renamed.Complete(now)
	reopened := done
	reopened.Status, reopened.CompletedAt = task.Active, nil
	cases := []struct {
		name       string
		prev, next task.Task
		want       []string
	}{
		{"complete", base, done, []string{TaskCompleted}},
		{"edit", base, renamed, []string{TaskUpdated}},
		{"edit and complete", base, renamedDone, []string{TaskUpdated, TaskCompleted}},
		{"reopen", done, reopened, []string{TaskUpdated}},
		{"nothing", base, base, nil},
	}
	for _, c := range cases {
		got := Changed(Source("update"), c.prev, c.next)
		if len(got) != len(c.want) {
			t.Errorf("%s: %d events, want %v", c.name, len(got), c.want)
			continue
		}
		for i, e := range got {
			if e.Type != c.want[i] || e.Subject != "t1" || e.ID == "" || len(e.Topics) != 2 {
				t.Errorf("%s: event %d = %+v", c.name, i, e)
			}
		}
	}
	ev := Changed(Source("update"), base, renamed)[0]
	var d TaskData
	if err := json.Unmarshal(ev.Data, &d); err != nil || d.Previous == nil || d.Previous.Title != "a" || d.Task.Title != "b" || d.UserID != "u" {
		t.Errorf("updated payload: %s", ev.Data)
	}
}

// TestActorOf: each function that writes tasks maps to who it writes for; any
// other source, or none, is not known.
func TestActorOf(t *testing.T) {
	for source, want := range map[string]string{
		"/taskflow/create": ActorUser, "/taskflow/update": ActorUser, "/taskflow/complete": ActorUser,
		"/taskflow/delete": ActorUser, "/taskflow/mcp": ActorAgent, "/taskflow/recurrence": ActorRecurrence,
		"": "", "/taskflow/unknown": "", "/taskflow/test": "", "/other/update": "", "/taskflow/mcp/": "",
	} {
		if got := ActorOf(source); got != want {
			t.Errorf("ActorOf(%q) = %q, want %q", source, got, want)
		}
	}
}
