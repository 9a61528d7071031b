package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/attributes"

	"github.com/taskflow/taskflow/pkg/telemetry"
)

// Resolver gives a Service's URL.
type Resolver func(service string) (string, bool)

// Dispatcher delivers events to the Triggers that match them.
type Dispatcher struct {
	triggers []Trigger
	filters  []eventfilter.Filter // each Trigger's, in the same order
	resolve  Resolver
	client   *http.Client
	log      *slog.Logger
}

// NewDispatcher builds a dispatcher; every subscriber and dead-letter sink
// must resolve.
func NewDispatcher(triggers []Trigger, resolve Resolver, log *slog.Logger) (*Dispatcher, error) {
	for _, t := range triggers {
		for _, svc := range []string{t.Subscriber, t.Delivery.DeadLetter} {
			if _, ok := resolve(svc); svc != "" && !ok {
				return nil, fmt.Errorf("trigger %s: no Service %s", t.Name, svc)
			}
		}
	}
	filters := make([]eventfilter.Filter, len(triggers))
	for i, t := range triggers {
		filters[i] = attributes.NewAttributesFilter(t.Filter)
	}
	return &Dispatcher{triggers: triggers, filters: filters, resolve: resolve, log: log,
		client: &http.Client{Timeout: 30 * time.Second}}, nil
}

// Dispatch delivers e to every Trigger whose filter it passes (concurrently) and returns
// when each has taken it, handed it to its dead-letter sink, or given it up
// as Knative's dispatcher does: when the dead-letter sink fails too (or the
// Trigger has none), the event is logged, counted in
// taskflow_broker_events_given_up_total, and counts as handled, so one event
// never holds the rest of its source. An error means ctx ended with a
// delivery still owed: the caller must not acknowledge e.
func (d *Dispatcher) Dispatch(ctx context.Context, e cloudevents.Event) error {
	var wg sync.WaitGroup
	for i, t := range d.triggers {
		if d.filters[i].Filter(ctx, e) == eventfilter.FailFilter {
			continue
		}
		wg.Go(func() { d.deliver(ctx, t, e) })
	}
	wg.Wait()
	return ctx.Err()
}

// retryable follows Knative's delivery rules: network errors, 404, 408, 409,
// 429 and 5xx are retried; other 4xx are final.
func retryable(status int, err error) bool {
	if err != nil {
		return true
	}
	switch {
	case status >= 500, status == 404, status == 408, status == 409, status == 429:
		return true
	}
	return false
}

func (d *Dispatcher) deliver(ctx context.Context, t Trigger, e cloudevents.Event) {
	status, err := d.attempts(ctx, t.Subscriber, t.Delivery, e)
	if (err == nil && status/100 == 2) || ctx.Err() != nil {
		return
	}
	if t.Delivery.DeadLetter == "" {
		d.giveUp(ctx, t, e, "no_dead_letter", status, err)
		return
	}
	dead := e.Clone()
	dead.SetExtension("knativeerrordest", t.Subscriber)
	if status > 0 {
		dead.SetExtension("knativeerrorcode", strconv.Itoa(status))
	}
	d.log.Warn("event to the dead-letter sink", "trigger", t.Name, "id", e.ID(), "status", status, "error", err)
	status, err = d.attempts(ctx, t.Delivery.DeadLetter, t.Delivery, dead)
	if (err == nil && status/100 == 2) || ctx.Err() != nil {
		return
	}
	d.giveUp(ctx, t, e, "dead_letter_failed", status, err)
}

// giveUp records that no delivery of e to t will be tried again.
func (d *Dispatcher) giveUp(ctx context.Context, t Trigger, e cloudevents.Event, reason string, status int, err error) {
	d.log.ErrorContext(ctx, "event given up: neither the subscriber nor a dead-letter sink took it",
		"trigger", t.Name, "reason", reason, "id", e.ID(), "source", e.Source(), "type", e.Type(),
		"status", status, "error", err)
	telemetry.GivenUp.WithLabelValues(t.Name, reason).Inc()
}

// attempts posts e to svc, retrying as the delivery spec says.
func (d *Dispatcher) attempts(ctx context.Context, svc string, del Delivery, e cloudevents.Event) (int, error) {
	url, _ := d.resolve(svc)
	var (
		status int
		err    error
	)
	for attempt := 0; ; attempt++ {
		status, err = d.post(ctx, url, e)
		if (err == nil && status/100 == 2) || !retryable(status, err) || attempt >= del.Retry {
			return status, err
		}
		wait := del.Backoff
		if del.Linear {
			wait *= time.Duration(attempt + 1)
		} else {
			wait <<= attempt
		}
		select {
		case <-ctx.Done():
			return status, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (d *Dispatcher) post(ctx context.Context, url string, e cloudevents.Event) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return 0, err
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		return 0, err
	}
	res, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}
