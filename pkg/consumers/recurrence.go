package consumers

import (
	"context"
	"errors"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/recurrence"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// Recurrence creates, once, the next occurrence of a completed or skipped
// recurring task (API.md §5): a skip counts as a completion at the time the
// occurrence was skipped. An occurrence has at most one successor, whichever
// of its task.completed and task.skipped events arrive, however often.
func Recurrence(d *fn.Deps) map[string]fn.EventHandler {
	h := func(ctx context.Context, e cloudevents.Event) error {
		data, err := taskData(e)
		if err != nil {
			return err
		}
		t := data.Task
		if !t.IsRecurring || t.Recurrence == nil {
			return nil
		}
		t.SeriesStart, t.Occurrence = data.SeriesStart, data.Occurrence
		done := e.Time().UTC() // a skip: when it was skipped, the event's time
		if t.CompletedAt != nil {
			done = *t.CompletedAt
		}
		next, ok, err := ops.Successor(t, done, d.Now().UTC())
		switch {
		case errors.Is(err, recurrence.ErrTooFar):
			d.Log.WarnContext(ctx, "series has no occurrence within the search bound; it ends", "task", t.ID)
			ok = false
		case err != nil:
			return err
		}
		var succ *ops.Write
		if ok {
			succ = &next
		}
		created, err := d.Store.CreateSuccessor(ctx, "recurrence", e.ID(), t.ID, succ)
		if err == nil && succ != nil && !created { // a redelivery, or the occurrence's successor exists
			telemetry.Duplicates.WithLabelValues("recurrence").Inc()
		}
		return err
	}
	return map[string]fn.EventHandler{events.TaskCompleted: h, events.TaskSkipped: h}
}
