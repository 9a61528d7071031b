package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
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

// TestEventsShowWhatIsStored: every write's event carries its task exactly
// as the store returns it: times at the precision kept, tags as the user
// first spelled them, the version and series it has.
func TestEventsShowWhatIsStored(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	create(t, st, "alice", `{"title":"first","tags":["Work"]}`, t0)
	a := create(t, st, "alice", `{"title":"a","tags":["work"],"due_date":"2027-01-04T09:00:00.123456789Z",
		"recurrence_pattern":{"frequency":"daily"}}`, t0.Add(1500))
	title := "b"
	updated, _, err := st.Update(ctx, "alice", a.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
		return ops.Patch(cur, task.Input{Title: task.Opt[string]{Set: true, Value: &title}}, t0.Add(time.Minute+1500))
	})
	if err != nil {
		t.Fatal(err)
	}
	done, _, err := st.Update(ctx, "alice", a.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
		w, ch := ops.Complete(cur, t0.Add(time.Hour+1500))
		return w, ch, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	prev := done
	prev.Tags = []string{"WORK"} // as an event from elsewhere may spell it
	next, ok, err := ops.Successor(prev, *done.CompletedAt, t0.Add(2*time.Hour+1500))
	if err != nil || !ok {
		t.Fatalf("successor: %v %v", ok, err)
	}
	if created, err := st.CreateSuccessor(ctx, "test", "completed-1", done.ID, &next); err != nil || !created {
		t.Fatalf("successor stored: %v %v", created, err)
	}
	succ, err := st.Get(ctx, "alice", next.Task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Tags, []string{"Work"}) || !slices.Equal(succ.Tags, a.Tags) || *succ.SeriesID != a.ID || succ.Version != 1 || done.Version != 3 {
		t.Fatalf("tags %v, successor's series %s version %d, completed version %d", a.Tags, *succ.SeriesID,
			succ.Version, done.Version)
	}
	pending, err := st.Unsent(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ  string
		task task.Task
	}{{events.TaskCreated, a}, {events.TaskUpdated, updated}, {events.TaskCompleted, done}, {events.TaskCreated, succ}}
	if len(pending) != 1+len(want) {
		t.Fatalf("%d events, want %d", len(pending), 1+len(want))
	}
	for i, w := range want {
		p := pending[i+1]
		var d events.TaskData
		if err := json.Unmarshal(p.Data, &d); err != nil {
			t.Fatal(err)
		}
		stored, _ := json.Marshal(w.task)
		inEvent, _ := json.Marshal(d.Task)
		if p.Type != w.typ || string(stored) != string(inEvent) || p.Source != st.Source {
			t.Errorf("event %d (%s from %s), want %s:\n%s\nstored:\n%s", i+1, p.Type, p.Source, w.typ, inEvent, stored)
		}
	}
	tags, err := st.Tags(ctx, "alice")
	if err != nil || len(tags) != 1 || tags[0].Name != "Work" || tags[0].Color != ops.TagColor("work") || tags[0].Count != 3 {
		t.Errorf("tags %+v %v", tags, err)
	}
}

// TestOutboxKeepsExtensions: the extension attributes an event is derived
// with come back from the outbox as they were; an event without any has none.
func TestOutboxKeepsExtensions(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	create(t, st, "alice", `{"title":"plain"}`, t0)
	create(t, st, "alice", `{"title":"reminded","due_date":"2027-01-02T00:00:00Z","reminder_time":"2027-01-01T00:00:00Z"}`, t0)
	pending, err := st.Unsent(ctx, 10)
	if err != nil || len(pending) != 2 {
		t.Fatalf("%d unsent, %v", len(pending), err)
	}
	if pending[0].Extensions != nil {
		t.Errorf("plain task's event has extensions %v", pending[0].Extensions)
	}
	if got := pending[1].Extensions; len(got) != 1 || got[events.ExtReminder] != "true" {
		t.Errorf("reminded task's event has extensions %v", got)
	}
}
