package reminders

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/task"
)

// create stores alice's task from a create body and syncs its jobs.
func (e *env) create(body string) task.Task {
	e.t.Helper()
	w, err := ops.Create("alice", []byte(body), time.Now().UTC())
	if err != nil {
		e.t.Fatal(err)
	}
	out, _, err := e.st.Create(context.Background(), w, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.Sync(context.Background(), "alice", out.ID); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) waitN(taskID string, n int, within time.Duration) []events.ReminderData {
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if f := e.fired(taskID); len(f) >= n {
			return f
		}
	}
	return e.fired(taskID)
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// TestSeveralRemindersOnRealDapr: five reminders of one task each fire once,
// never early; relative reminders move with an edited due date and fire at
// their new instants only; a successor's reminders get their jobs.
func TestSeveralRemindersOnRealDapr(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real daprd and scheduler")
	}
	e := newEnv(t)
	ctx := context.Background()
	at := time.Now().Add(4 * time.Second).Truncate(time.Second).UTC()

	five := e.create(fmt.Sprintf(`{"title":"five","due_date":%q,"reminders":[{"at":%q},{"before_due":"PT4S"},{"at":%q},{"before_due":"PT1S"},{"before_due":"PT0S"}]}`,
		rfc(at.Add(6*time.Second)), rfc(at), rfc(at.Add(time.Second))))
	// Relative reminders of a due date moved 3 s later, after their jobs were made.
	rel := e.create(fmt.Sprintf(`{"title":"moved","due_date":%q,"reminders":[{"before_due":"PT1S"},{"before_due":"PT0S"}]}`, rfc(at.Add(time.Second))))
	due := at.Add(4 * time.Second)
	if _, _, err := e.st.Update(ctx, "alice", rel.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
		return ops.Patch(cur, task.Input{DueDate: task.Opt[time.Time]{Set: true, Value: &due}}, time.Now().UTC())
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Sync(ctx, "alice", rel.ID); err != nil {
		t.Fatal(err)
	}

	want := five.ReminderTimes()
	f := e.waitN(five.ID, 5, 20*time.Second)
	if len(f) != 5 {
		t.Fatalf("five reminders fired %d times: %+v", len(f), f)
	}
	var got []time.Time
	for _, r := range f {
		if r.FiredAt.Before(r.RemindAt) {
			t.Errorf("fired early: %+v", r)
		}
		got = append(got, r.RemindAt)
	}
	slices.SortFunc(got, time.Time.Compare)
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("fired at %v, want %v", got, want)
	}
	f = e.waitN(rel.ID, 2, 20*time.Second)
	if len(f) != 2 {
		t.Fatalf("moved reminders fired %d times: %+v", len(f), f)
	}
	for _, r := range f {
		if !(r.RemindAt.Equal(due) || r.RemindAt.Equal(due.Add(-time.Second))) || r.FiredAt.Before(r.RemindAt) {
			t.Errorf("moved relative reminder fired for %s at %s; due now %s", r.RemindAt, r.FiredAt, due)
		}
	}
	time.Sleep(2 * time.Second)
	if n := len(e.fired(five.ID)); n != 5 {
		t.Errorf("five reminders fired %d times in all", n)
	}

	// A successor carries the reminders and has a job for each.
	series := e.create(fmt.Sprintf(`{"title":"series","due_date":%q,"reminders":[{"before_due":"PT1H"},{"before_due":"P1D"},{"at":%q}],
		"recurrence_pattern":{"frequency":"daily","timezone":"Europe/Berlin"}}`, rfc(at.Add(48*time.Hour)), rfc(at.Add(46*time.Hour))))
	w, ok, err := ops.Successor(series, time.Now().UTC(), time.Now().UTC())
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, err := e.st.CreateSuccessor(ctx, "recurrence", "ev-1", series.ID, &w); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Sync(ctx, "alice", w.Task.ID); err != nil {
		t.Fatal(err)
	}
	if len(w.Task.Reminders) != 3 || !w.Task.Reminders[2].At.Equal(w.Task.DueDate.Add(-time.Hour)) || w.Task.Reminders[0].BeforeDue != "P1D" {
		t.Errorf("successor's reminders: %+v", w.Task.Reminders)
	}
	for n := range 5 {
		ok, err := e.svc.Jobs.Exists(ctx, JobName(w.Task.ID, n))
		if err != nil || ok != (n < 3) {
			t.Errorf("successor's job %d exists: %v %v", n, ok, err)
		}
	}
}

// TestSnoozeOnRealDapr: a snoozed notification fires once at its new time,
// never early; snoozing again before it fires moves it.
func TestSnoozeOnRealDapr(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real daprd and scheduler")
	}
	e := newEnv(t)
	ctx := context.Background()
	tk := e.create(`{"title":"snoozed","reminder_time":"2020-01-01T00:00:00Z"}`)
	n, _, _, err := e.st.Notify(ctx, events.Notification{UserID: "alice", TaskID: tk.ID, Title: tk.Title, Message: "m",
		RemindAt: *tk.ReminderTime, DeliveredAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	first := time.Now().Add(3 * time.Second).Truncate(time.Second).UTC()
	until := first.Add(3 * time.Second)
	for _, u := range []time.Time{first, until} {
		got, err := e.st.Snooze(ctx, "alice", n.ID, u)
		if err != nil || !got.SnoozedUntil.Equal(u) {
			t.Fatal(got, err)
		}
		if err := e.svc.SyncSnooze(ctx, "alice", n.ID); err != nil {
			t.Fatal(err)
		}
	}
	f := e.waitN(tk.ID, 1, 20*time.Second)
	if len(f) != 1 || !f[0].RemindAt.Equal(until) || f[0].FiredAt.Before(until) || f[0].SnoozedFrom != n.ID {
		t.Fatalf("snooze fired: %+v (want once at %s)", f, until)
	}
	time.Sleep(2 * time.Second)
	if f := e.fired(tk.ID); len(f) != 1 {
		t.Errorf("snooze fired %d times", len(f))
	}
	if p, err := e.st.PendingSnooze(ctx, "alice", n.ID); err != nil || p != nil {
		t.Errorf("snooze still pending after firing: %+v %v", p, err)
	}
}
