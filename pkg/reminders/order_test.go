package reminders

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"

	"github.com/taskflow/taskflow/pkg/broker"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/task"
)

// TestUpdateAndDeleteInAnyOrder: Knative's Kafka Broker delivers an
// unordered Trigger's events in parallel, so the reminder function may get a
// task's update (moving its reminder) and its delete in either order or at
// once. Delivered through the local Broker's dispatcher (kncloudevents, an
// unordered Trigger) to the reminder function over HTTP, on real Dapr, each
// way leaves no job behind: the function syncs the job from the task as it
// is in PostgreSQL, not from the event.
func TestUpdateAndDeleteInAnyOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real daprd and scheduler")
	}
	e := newEnv(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	fnSrv := httptest.NewServer(fn.Events(quiet, e.svc.Consumers(nil)))
	t.Cleanup(fnSrv.Close)
	retry, delay, linear := int32(3), "PT0.01S", eventingduckv1.BackoffPolicyLinear
	d, err := broker.NewDispatcher([]broker.Trigger{{Name: "reminder", Subscriber: "reminder",
		Filter:   map[string]string{events.ExtReminder: "true"},
		Delivery: eventingduckv1.DeliverySpec{Retry: &retry, BackoffDelay: &delay, BackoffPolicy: &linear}}},
		func(string) (string, bool) { return fnSrv.URL, true }, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// moveThenDelete moves a task's reminder, deletes the task, and returns
	// the two events the outbox holds for them.
	moveThenDelete := func(title string) (string, cloudevents.Event, cloudevents.Event) {
		tk := e.task(title, time.Now().Add(time.Hour))
		if ok, err := e.svc.Jobs.Exists(ctx, JobName(tk.ID, 0)); err != nil || !ok {
			t.Fatalf("%s: no job after create (%v)", title, err)
		}
		later := time.Now().Add(90 * time.Minute).UTC() // moved, still before the due date (an hour after the first)
		moved, _, err := e.st.Update(ctx, "alice", tk.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
			return ops.Patch(cur, task.Input{ReminderTime: task.Opt[time.Time]{Set: true, Value: &later}}, time.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
		gone, err := e.st.Delete(ctx, "alice", tk.ID, 0, func(cur task.Task) ops.Write { return ops.Delete(cur, time.Now()) })
		if err != nil {
			t.Fatal(err)
		}
		ev := func(id, typ string, d events.TaskData) cloudevents.Event {
			ce := cloudevents.New()
			ce.SetID(id)
			ce.SetSource("/test")
			ce.SetType(typ)
			ce.SetSubject(tk.ID)
			ce.SetExtension(events.ExtReminder, "true")
			b, _ := json.Marshal(d)
			_ = ce.SetData("application/json", b)
			return ce
		}
		return tk.ID, ev(tk.ID+"-u", events.TaskUpdated, events.TaskData{Task: moved, Previous: &tk, UserID: "alice"}),
			ev(tk.ID+"-d", events.TaskDeleted, events.TaskData{Task: gone, UserID: "alice"})
	}
	noJob := func(what, id string) {
		t.Helper()
		if ok, err := e.svc.Jobs.Exists(ctx, JobName(id, 0)); err != nil || ok {
			t.Errorf("%s: a job is left behind (exists %v, %v)", what, ok, err)
		}
	}

	id, upd, del := moveThenDelete("update first")
	for _, ce := range []cloudevents.Event{upd, del} {
		if err := d.Dispatch(ctx, ce); err != nil {
			t.Fatal(err)
		}
	}
	noJob("update, then delete", id)

	id, upd, del = moveThenDelete("delete first")
	for _, ce := range []cloudevents.Event{del, upd} {
		if err := d.Dispatch(ctx, ce); err != nil {
			t.Fatal(err)
		}
	}
	noJob("delete, then update", id)

	// Several tasks, each task's two events at once.
	var ids []string
	var wg sync.WaitGroup
	for range 5 {
		id, upd, del := moveThenDelete("at once")
		ids = append(ids, id)
		for _, ce := range []cloudevents.Event{upd, del} {
			wg.Go(func() { _ = d.Dispatch(ctx, ce) })
		}
	}
	wg.Wait()
	for _, id := range ids {
		noJob("update and delete at once", id)
	}
}
