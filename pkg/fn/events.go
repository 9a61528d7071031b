package fn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/task"
	"github.com/taskflow/taskflow/pkg/telemetry"
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
			WriteError(w, r, log, errs.ErrMethodNotAllowed)
			return
		}
		SetRoute(r, "events")
		e, err := ReadCloudEvent(r)
		if err != nil {
			telemetry.ObserveConsumed("invalid", http.StatusBadRequest, 0)
			WriteError(w, r, log, err)
			return
		}
		ctx, span := consumeSpan(r.Context(), e)
		defer span.End()
		r = r.WithContext(ctx)
		h, ok := handlers[e.Type()]
		if !ok {
			h, ok = handlers[AnyType]
		}
		if !ok {
			telemetry.ObserveConsumed(e.Type(), http.StatusBadRequest, 0)
			WriteError(w, r, log, errs.Invalidf(fmt.Sprintf("event type %q is not handled here", e.Type())))
			return
		}
		if err := h(ctx, *e); err != nil {
			status, _ := Status(err)
			if status < 500 { // WriteError logs the 5xx
				log.WarnContext(ctx, "event refused", "id", e.ID(), "type", e.Type(), "status", status, "error", err)
			}
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			telemetry.ObserveConsumed(e.Type(), status, time.Since(e.Time()))
			WriteError(w, r, log, err)
			return
		}
		telemetry.ObserveConsumed(e.Type(), http.StatusAccepted, time.Since(e.Time()))
		w.WriteHeader(http.StatusAccepted)
	})
}

// consumeSpan starts the span of handling e: a child of the change that
// caused the event (its traceparent extension, the CloudEvents distributed
// tracing extension), linked to the delivery's own HTTP span. An event
// without the extension goes on the delivery's trace.
func consumeSpan(ctx context.Context, e *cloudevents.Event) (context.Context, trace.Span) {
	parent, _ := e.Extensions()["traceparent"].(string)
	state, _ := e.Extensions()["tracestate"].(string)
	delivery := trace.LinkFromContext(ctx)
	return telemetry.Tracer().Start(telemetry.WithTraceParent(ctx, parent, state), "consume "+e.Type(),
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithLinks(delivery),
		trace.WithAttributes(attribute.String("cloudevents.event_id", e.ID()), attribute.String("cloudevents.event_type", e.Type())))
}

// ReadCloudEvent decodes the CloudEvent of an HTTP request, binary or
// structured mode; anything else is an *errs.Invalid (400, never retried).
func ReadCloudEvent(r *http.Request) (*cloudevents.Event, error) {
	body := &limitedBody{ReadCloser: r.Body}
	r.Body = body
	msg := cehttp.NewMessageFromHttpRequest(r)
	defer msg.Finish(nil)
	if msg.ReadEncoding() == binding.EncodingUnknown {
		return nil, errs.Invalidf("not a CloudEvent (binary or structured mode)")
	}
	e, err := binding.ToEvent(r.Context(), msg)
	if body.tooLarge != nil {
		// A body over the limit without a Content-Length (chunked) stops
		// inside the SDK, which reports a parse error: it is a 413 all the same.
		return nil, body.tooLarge
	}
	if err != nil {
		return nil, errs.Invalidf("malformed CloudEvent: " + err.Error())
	}
	if err := e.Validate(); err != nil {
		return nil, errs.Invalidf("invalid CloudEvent: " + err.Error())
	}
	if name, ok := controlFree(e); !ok {
		return nil, errs.Invalidf("invalid CloudEvent: attribute " + name + " is not UTF-8 text without control characters")
	}
	// A time the SDK parses (Go takes an offset of -23:59 on 31 December
	// 9999) may lie outside the dates TaskFlow holds: recorded as an audit
	// entry's time it could never be encoded again, and sent on it would not
	// parse as RFC 3339 at the next hop.
	if tm := e.Time(); !tm.IsZero() && !task.InRange(tm) {
		return nil, errs.Invalidf(fmt.Sprintf("invalid CloudEvent: attribute time must be from %s to %s",
			task.MinTime.Format(time.RFC3339), task.MaxTime.Format(time.RFC3339)))
	}
	return e, nil
}

// controlFree checks the rule of CloudEvents' type system that a String
// attribute is Unicode text without control characters (U+0000–U+001F,
// U+007F–U+009F): an id with a NUL could not be sent on as an HTTP header
// nor stored, and bytes that are not UTF-8 can be neither stored nor used
// as a metric label (which panics), so either would only be retried until
// given up. It returns the first attribute that breaks it.
func controlFree(e *cloudevents.Event) (string, bool) {
	attrs := map[string]string{"id": e.ID(), "source": e.Source(), "type": e.Type(), "subject": e.Subject(),
		"dataschema": e.DataSchema(), "datacontenttype": e.DataContentType()}
	for k, v := range e.Extensions() {
		if s, ok := v.(string); ok {
			attrs[k] = s
		}
	}
	for k, v := range attrs {
		if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return k, false
		}
	}
	return "", true
}

// limitedBody remembers that a read of the request body hit its size limit
// (http.MaxBytesReader, set by LimitBody), whatever the reader above it makes
// of the error.
type limitedBody struct {
	io.ReadCloser
	tooLarge *http.MaxBytesError
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if tl := (*http.MaxBytesError)(nil); errors.As(err, &tl) {
		b.tooLarge = tl
	}
	return n, err
}
