package fn

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/binding"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/taskflow/taskflow/pkg/errs"
)

// AnyType registers a handler for every event type without its own.
const AnyType = "*"

// EventHandler processes one CloudEvent. It returns nil when the event's
// effect is done (or was done before: redeliveries are normal), an
// *errs.Invalid when the event can never succeed, and anything else when a
// retry may succeed.
type EventHandler func(ctx context.Context, e cloudevents.Event) error

// Events serves CloudEvents delivered over HTTP (binary or structured mode)
// by a Knative Trigger, dispatching on the event type. Status codes follow
// Knative's retry rules through Status: 2xx done, 4xx never retried, 5xx and
// 429 retried.
func Events(log *slog.Logger, handlers map[string]EventHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			WriteError(w, r, log, errMethod)
			return
		}
		e, err := ReadCloudEvent(r)
		if err != nil {
			WriteError(w, r, log, err)
			return
		}
		h, ok := handlers[e.Type()]
		if !ok {
			h, ok = handlers[AnyType]
		}
		if !ok {
			WriteError(w, r, log, errs.Invalidf(fmt.Sprintf("event type %q is not handled here", e.Type())))
			return
		}
		if err := h(r.Context(), *e); err != nil {
			if status, _ := Status(err); status < 500 { // WriteError logs the 5xx
				log.WarnContext(r.Context(), "event refused", "id", e.ID(), "type", e.Type(), "status", status, "error", err)
			}
			WriteError(w, r, log, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

// ReadCloudEvent decodes the CloudEvent of an HTTP request, binary or
// structured mode; anything else is an *errs.Invalid (400, never retried).
func ReadCloudEvent(r *http.Request) (*cloudevents.Event, error) {
	msg := cehttp.NewMessageFromHttpRequest(r)
	defer msg.Finish(nil)
	if msg.ReadEncoding() == binding.EncodingUnknown {
		return nil, errs.Invalidf("not a CloudEvent (binary or structured mode)")
	}
	e, err := binding.ToEvent(r.Context(), msg)
	if err != nil {
		return nil, errs.Invalidf("malformed CloudEvent: " + err.Error())
	}
	if err := e.Validate(); err != nil {
		return nil, errs.Invalidf("invalid CloudEvent: " + err.Error())
	}
	return e, nil
}
