package consumers

import (
	"context"
	"encoding/json"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// DeadLetter keeps every event a Trigger gave up on, whatever its type and
// its data (JSON or not, text with NUL, binary: stored as bytes with their
// content type), once per subscriber (the knativeerrordest extension), and
// logs it for the operator, who can list and replay it (pkg/deadletters). Only a transient store
// failure is retried: the event's content never makes it fail.
func DeadLetter(d *fn.Deps) map[string]fn.EventHandler {
	return map[string]fn.EventHandler{fn.AnyType: func(ctx context.Context, e cloudevents.Event) error {
		attrs := e.Clone()
		attrs.DataEncoded, attrs.DataBase64 = nil, false
		body, err := json.Marshal(attrs) // attributes only: they are strings and times, always JSON
		if err != nil {
			return err
		}
		d.Log.ErrorContext(ctx, "dead letter", "id", e.ID(), "source", e.Source(), "type", e.Type(),
			"error_code", e.Extensions()["knativeerrorcode"], "error_dest", e.Extensions()["knativeerrordest"])
		dest, _ := e.Extensions()["knativeerrordest"].(string)
		if err := d.Store.RecordDeadLetter(ctx, store.DeadLetter{ID: e.ID(), Source: e.Source(), Type: e.Type(),
			Subscriber: dest, Attributes: body, ContentType: e.DataContentType(), Data: e.Data()}); err != nil {
			return err
		}
		telemetry.DeadLettered.WithLabelValues(e.Type()).Inc()
		return nil
	}}
}
