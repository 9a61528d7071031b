package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/store/storetest"
	"github.com/taskflow/taskflow/pkg/task"
)

// TestEveryWriteStoresItsEvents: each write leaves exactly its events in the
// outbox, in order, and a write that fails leaves none.
func TestEveryWriteStoresItsEvents(t *testing.T) {
	st, url := storetest.New(t)
	st.Source = events.Source("test")
	ctx := context.Background()
	a := create(t, st, "alice", `{"title":"a","tags":["Work"],"due_date":"2027-01-01T00:00:00.123456789Z"}`, t0.Add(123))
	title := "b"
	_, _, err := st.Update(ctx, "alice", a.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
		next, ch, err := cur.Patch(task.Input{Title: task.Opt[string]{Set: true, Value: &title}}, t0.Add(time.Minute))
		if err != nil {
			return ops.Write{}, ch, err
		}
		next, _ = next.Complete(t0.Add(time.Minute))
		return ops.Change(cur, next), true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Update(ctx, "alice", a.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
		return ops.Write{}, false, errs.InvalidField("title", "no")
	}); err == nil {
		t.Fatal("failed change succeeded")
	}
	if _, err := st.Delete(ctx, "alice", a.ID, 99, deleting(t0)); !errors.Is(err, errs.ErrPrecondition) {
		t.Fatal(err)
	}
	if _, err := st.Delete(ctx, "alice", a.ID, 0, deleting(t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	pending, err := st.Unsent(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, p := range pending {
		types = append(types, p.Type)
		if p.Subject != a.ID || p.Source != "/taskflow/test" || len(p.Topics) != 2 {
			t.Errorf("event %+v", p.Event)
		}
	}
	want := []string{events.TaskCreated, events.TaskUpdated, events.TaskCompleted, events.TaskDeleted}
	if len(types) != len(want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("events %v, want %v", types, want)
		}
	}
	var d events.TaskData
	if err := json.Unmarshal(pending[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	created, _ := json.Marshal(a)
	inEvent, _ := json.Marshal(d.Task)
	if string(created) != string(inEvent) || d.UserID != "alice" {
		t.Errorf("created event's task differs from the stored one:\n%s\n%s", inEvent, created)
	}
	if err := st.MarkSent(ctx, []int64{pending[0].Seq, pending[1].Seq}); err != nil {
		t.Fatal(err)
	}
	if rest, _ := st.Unsent(ctx, 100); len(rest) != 2 || rest[0].Type != events.TaskCompleted {
		t.Errorf("after marking two sent: %d unsent", len(rest))
	}
	if n, _, err := st.Backlog(ctx); err != nil || n != 2 {
		t.Errorf("backlog %d %v", n, err)
	}
	if n := count(t, url, "SELECT count(*) FROM outbox"); n != 2 {
		t.Errorf("%d rows left after two were sent, want 2", n)
	}
}
