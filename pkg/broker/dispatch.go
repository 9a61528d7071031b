package broker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/attributes"
	"knative.dev/eventing/pkg/eventingtls"
	"knative.dev/eventing/pkg/kncloudevents"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/taskflow/taskflow/pkg/telemetry"
)

// Resolver gives a Service's URL.
type Resolver func(service string) (string, bool)

// Dispatcher delivers events to the Triggers that match them through
// Knative's own dispatcher (kncloudevents.Dispatcher.SendEvent), so that
// retries, backoff, Retry-After, the request timeout and the dead-letter
// sink behave exactly as in Knative's broker filter: the retry schedule is
// kncloudevents.RetryConfigFromDeliverySpec of the Trigger's delivery
// (linear: backoffDelay × n before retry n+1, n from 0; exponential:
// backoffDelay × 2ⁿ), which retries what kncloudevents.SelectiveRetry
// retries (network errors, 404, 408, 409, 429, 5xx).
type Dispatcher struct {
	routes []route
	kn     *kncloudevents.Dispatcher
	log    *slog.Logger
}

type route struct {
	Trigger
	filter eventfilter.Filter
	dest   duckv1.Addressable
	dls    *duckv1.Addressable // nil for none
	retry  kncloudevents.RetryConfig
}

// Knative's broker filter sets the HTTP transport this way (idle
// connections kept for reuse: 1,000 in all, 100 to a host).
const maxIdleConns, maxIdleConnsPerHost = 1000, 100

// NewDispatcher builds a dispatcher; every subscriber and dead-letter sink
// must resolve to a URL, and every delivery spec must be one
// RetryConfigFromDeliverySpec takes (ISO 8601 durations).
func NewDispatcher(triggers []Trigger, resolve Resolver, log *slog.Logger) (*Dispatcher, error) {
	addr := func(t Trigger, svc string) (*duckv1.Addressable, error) {
		u, ok := resolve(svc)
		if !ok {
			return nil, fmt.Errorf("trigger %s: no Service %s", t.Name, svc)
		}
		url, err := apis.ParseURL(u)
		if err != nil {
			return nil, fmt.Errorf("trigger %s: Service %s: %w", t.Name, svc, err)
		}
		return &duckv1.Addressable{URL: url}, nil
	}
	routes := make([]route, len(triggers))
	for i, t := range triggers {
		dest, err := addr(t, t.Subscriber)
		if err != nil {
			return nil, err
		}
		r := route{Trigger: t, filter: attributes.NewAttributesFilter(t.Filter), dest: *dest}
		if dls := t.DeadLetter(); dls != "" {
			if r.dls, err = addr(t, dls); err != nil {
				return nil, err
			}
		}
		if r.retry, err = kncloudevents.RetryConfigFromDeliverySpec(t.Delivery); err != nil {
			return nil, fmt.Errorf("trigger %s: %w", t.Name, err)
		}
		routes[i] = r
	}
	// What Knative's broker filter gives the dispatcher in a cluster
	// without OIDC and without TLS: an empty TLS client config (plain
	// http:// URLs never read it), no OIDC token provider (only
	// WithOIDCAuthentication would use it, and it is not passed), and the
	// filter's connection pool. kncloudevents names the dead-letter
	// extensions' broker-filter host after SYSTEM_NAMESPACE, which Knative
	// sets on its pods (knative-eventing) and which must be set here too.
	if os.Getenv("SYSTEM_NAMESPACE") == "" {
		_ = os.Setenv("SYSTEM_NAMESPACE", "knative-eventing")
	}
	kncloudevents.ConfigureConnectionArgs(&kncloudevents.ConnectionArgs{
		MaxIdleConns: maxIdleConns, MaxIdleConnsPerHost: maxIdleConnsPerHost})
	return &Dispatcher{routes: routes, log: log,
		kn: kncloudevents.NewDispatcher(eventingtls.ClientConfig{}, nil)}, nil
}

// Dispatch delivers e to every Trigger whose filter it passes (concurrently),
// in no particular order: see Partition for the order of a partition's events.
// It returns when each Trigger has taken e or given it up (deliver). An
// error means ctx ended with a delivery still owed: the caller must not
// acknowledge e.
func (d *Dispatcher) Dispatch(ctx context.Context, e cloudevents.Event) error {
	p := d.Partition(ctx, Source{}) // an unordered source: every Trigger in parallel
	p.Deliver(e)
	return p.Wait()
}

// deliver sends e to r's subscriber with r's retries and, when they are
// spent, to r's dead-letter sink (with the knativeerrordest, -code and -data
// extensions kncloudevents adds). When the sink fails too (or r has none),
// e is given up as Knative's dispatcher does: logged, counted in
// taskflow_broker_events_given_up_total, and handled, so one event never
// holds the rest of its source.
func (d *Dispatcher) deliver(ctx context.Context, r *route, e cloudevents.Event) {
	opts := []kncloudevents.SendOption{kncloudevents.WithRetryConfig(&r.retry)}
	if r.dls != nil {
		dls := *r.dls // SendEvent writes to the sink it is given
		opts = append(opts, kncloudevents.WithDeadLetterSink(&dls))
	}
	info, err := d.kn.SendEvent(ctx, e, r.dest, opts...)
	if err == nil || ctx.Err() != nil {
		return
	}
	reason := "no_dead_letter"
	if r.dls != nil {
		reason = "dead_letter_failed"
	}
	status := 0
	if info != nil {
		status = info.ResponseCode
	}
	d.log.ErrorContext(ctx, "event given up: neither the subscriber nor a dead-letter sink took it",
		"trigger", r.Name, "reason", reason, "id", e.ID(), "source", e.Source(), "type", e.Type(),
		"status", status, "error", err)
	telemetry.GivenUp.WithLabelValues(r.Name, reason).Inc()
}

// Parallel bounds the deliveries of one partition in flight at once to the
// Triggers that take events unordered.
const Parallel = 32

// queueLen is how many events an ordered Trigger's queue holds before
// Partition.Deliver waits for it.
const queueLen = 256

// Partition delivers the events of one Kafka partition, given in offset
// order, as Knative's Kafka Broker does: to an ordered Trigger one at a
// time in that order (the next only once the previous was taken or given
// up), to every other Trigger in parallel (at most Parallel at once), so
// that an unordered Trigger may see a task's events in any order. A source
// that is not ordered itself loses the order before the Broker (see
// Source.Ordered): then every Trigger gets the events unordered.
type Partition struct {
	d       *Dispatcher
	ctx     context.Context
	ordered bool
	wg      sync.WaitGroup
	slots   chan struct{}
	queues  map[int]chan queued // by route index, ordered Triggers only
}

// queued is an event in an ordered Trigger's queue, with its countdown.
type queued struct {
	e    cloudevents.Event
	left *pending
}

// pending counts an event's deliveries still owed and calls done after the
// last one.
type pending struct {
	n    atomic.Int32
	done func()
}

func (c *pending) finish() {
	if c.n.Add(-1) == 0 && c.done != nil {
		c.done()
	}
}

// Partition starts the delivery of one partition's events of a source.
func (d *Dispatcher) Partition(ctx context.Context, src Source) *Partition {
	return &Partition{d: d, ctx: ctx, ordered: src.Ordered, slots: make(chan struct{}, Parallel),
		queues: map[int]chan queued{}}
}

// Deliver hands e to its Triggers and returns (waiting only for a free
// slot or room in an ordered Trigger's queue); Wait waits for the deliveries.
func (p *Partition) Deliver(e cloudevents.Event) { p.DeliverThen(e, nil) }

// DeliverThen is Deliver that calls done (when not nil) once every Trigger
// of e has taken it or given it up; while ctx lasts, also for an event no
// Trigger wants. A caller acknowledges e's record in done, in offset order.
func (p *Partition) DeliverThen(e cloudevents.Event, done func()) {
	left := &pending{done: done}
	left.n.Store(1) // Deliver's own hold, released at the end
	defer left.finish()
	for i := range p.d.routes {
		r := &p.d.routes[i]
		if r.filter.Filter(p.ctx, e) == eventfilter.FailFilter {
			continue
		}
		if p.ordered && r.Ordered {
			q, ok := p.queues[i]
			if !ok {
				q = make(chan queued, queueLen)
				p.queues[i] = q
				p.wg.Go(func() {
					for it := range q {
						if p.ctx.Err() == nil {
							p.d.deliver(p.ctx, r, it.e)
						}
						it.left.finish()
					}
				})
			}
			left.n.Add(1)
			q <- queued{e, left}
			continue
		}
		select {
		case p.slots <- struct{}{}:
		case <-p.ctx.Done():
			return
		}
		left.n.Add(1)
		p.wg.Go(func() {
			defer func() { <-p.slots }()
			p.d.deliver(p.ctx, r, e)
			left.finish()
		})
	}
}

// Wait returns once every event handed to Deliver was taken or given up by
// each of its Triggers. An error means ctx ended with deliveries still owed:
// the caller must not acknowledge the partition's events.
func (p *Partition) Wait() error {
	for _, q := range p.queues {
		close(q)
	}
	p.wg.Wait()
	return p.ctx.Err()
}
