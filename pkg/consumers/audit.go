// Package consumers holds the event-driven functions' handlers: each turns a
// CloudEvent into one idempotent effect in the store.
package consumers

import (
	"context"
	"encoding/json"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/task"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// taskData decodes a task.* event's payload; a payload that does not decode
// can never succeed (400, no retry).
func taskData(e cloudevents.Event) (events.TaskData, error) {
	var d events.TaskData
	if err := json.Unmarshal(e.Data(), &d); err != nil {
		return d, errs.Invalidf("event data is not a task payload: " + err.Error())
	}
	if d.UserID == "" || !task.ValidID(d.Task.ID) {
		return d, errs.Invalidf("event data lacks user_id or task.id")
	}
	d.Task.UserID = d.UserID
	return d, nil
}

// Audit records every task.* event once per event id, with its field changes
// and its source (who made them).
func Audit(d *fn.Deps) map[string]fn.EventHandler {
	h := func(ctx context.Context, e cloudevents.Event) error {
		data, err := taskData(e)
		if err != nil {
			return err
		}
		source := e.Source() // who made the change: the function that emitted it
		first, err := d.Store.RecordAudit(ctx, data.UserID, data.Task.ID, store.AuditEntry{
			EventID: e.ID(), Type: e.Type(), Time: e.Time().UTC(), Changes: events.ChangesOf(e.Type(), data),
			Source: &source})
		if err == nil && !first {
			telemetry.Duplicates.WithLabelValues("audit").Inc()
		}
		return err // a duplicate is done already: nil
	}
	return map[string]fn.EventHandler{
		events.TaskCreated: h, events.TaskUpdated: h, events.TaskCompleted: h, events.TaskDeleted: h,
	}
}
