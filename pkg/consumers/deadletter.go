package consumers

import (
	"context"
	"encoding/json"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// DeadLetter keeps every event a Trigger gave up on, whatever its type, and
// logs it for the operator.
func DeadLetter(d *fn.Deps) map[string]fn.EventHandler {
	return map[string]fn.EventHandler{fn.AnyType: func(ctx context.Context, e cloudevents.Event) error {
		body, err := json.Marshal(e)
		if err != nil {
			return err
		}
		d.Log.ErrorContext(ctx, "dead letter", "id", e.ID(), "source", e.Source(), "type", e.Type())
		if err := d.Store.RecordDeadLetter(ctx, e.ID(), e.Source(), e.Type(), body); err != nil {
			return err
		}
		telemetry.DeadLettered.WithLabelValues(e.Type()).Inc()
		return nil
	}}
}
