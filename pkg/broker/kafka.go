package broker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	tfkafka "github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// IngressTopic holds the events posted to the Broker ingress until they are
// dispatched, as the Kafka broker keeps them in a topic of its own.
const IngressTopic = tfkafka.BrokerTopic

// ingressSource consumes IngressTopic like a KafkaSource.
var ingressSource = Source{Name: "broker-ingress", Topics: []string{IngressTopic}, ConsumerGroup: "taskflow-broker-ingress"}

// consume reads src's topics with its consumer group (sarama's) and
// dispatches every record: partitions in parallel, each through a
// Dispatcher.Partition (see handler.ConsumeClaim). So a record that can
// never be delivered holds its partition's commits only for its Trigger's
// retry schedule, and never the deliveries after it.
func consume(ctx context.Context, client sarama.Client, src Source, d *Dispatcher, log *slog.Logger) error {
	g, err := sarama.NewConsumerGroupFromClient(src.ConsumerGroup, client)
	if err != nil {
		return err
	}
	defer g.Close()
	go func() {
		for err := range g.Errors() {
			log.Warn("kafka source", "source", src.Name, "error", err)
		}
	}()
	lagCtx, stopLag := context.WithCancel(ctx)
	defer stopLag()
	go watchLag(lagCtx, client, src)
	h := &handler{ctx: ctx, src: src, d: d, log: log}
	for wait := 100 * time.Millisecond; ctx.Err() == nil; {
		err := g.Consume(ctx, src.Topics, h)
		if err == nil || ctx.Err() != nil {
			wait = 100 * time.Millisecond
			continue // a rebalance: join again
		}
		log.Warn("kafka source", "source", src.Name, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
	return nil
}

// handler delivers the records of the partitions a source's group member
// is given.
type handler struct {
	ctx context.Context // the Broker's: a delivery outlives a rebalance
	src Source
	d   *Dispatcher
	log *slog.Logger
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim delivers one partition's records, as they come, through
// one Dispatcher.Partition until the session ends: in order to an ordered
// Trigger of an ordered source, in parallel otherwise, so a slow record
// never holds the deliveries after it. A record's offset is marked only
// once it and every record before it were delivered or given up; marked
// offsets are committed every second and when the source stops.
func (h *handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	part := h.d.Partition(h.ctx, h.src)
	defer func() { _ = part.Wait() }() // an error means the stack stops: what is owed is not marked
	w := &window{}
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			w.start(m.Offset)
			done := func() {
				if h.ctx.Err() == nil {
					w.done(m.Offset, func(next int64) { sess.MarkOffset(m.Topic, m.Partition, next, "") })
				}
			}
			if e, ok := toEvent(h.ctx, m, h.src, h.log); ok {
				part.DeliverThen(*e, done)
			} else {
				done() // given up: nothing to wait for
			}
		case <-sess.Context().Done():
			return nil
		}
	}
}

// window is one partition's deliveries in flight, in offset order.
type window struct {
	mu       sync.Mutex
	inFlight []int64 // ascending
	finished map[int64]bool
}

func (w *window) start(offset int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inFlight = append(w.inFlight, offset)
}

// done records offset as delivered; when that completes a prefix of the
// window, mark gets the next offset to read after it (under the window's
// lock, so marks only move forward).
func (w *window) done(offset int64, mark func(next int64)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished == nil {
		w.finished = map[int64]bool{}
	}
	w.finished[offset] = true
	n := 0
	for n < len(w.inFlight) && w.finished[w.inFlight[n]] {
		delete(w.finished, w.inFlight[n])
		n++
	}
	if n == 0 {
		return
	}
	next := w.inFlight[n-1] + 1
	w.inFlight = w.inFlight[n:]
	mark(next)
}

// watchLag keeps taskflow_kafka_consumer_lag current for src's consumer
// group (every 2 s), as Knative's Kafka dispatcher reports its own.
func watchLag(ctx context.Context, client sarama.Client, src Source) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		if lags, err := tfkafka.Lag(client, src.ConsumerGroup, src.Topics); err == nil {
			for topic, l := range lags {
				telemetry.ConsumerLag.WithLabelValues(src.Name, topic).Set(float64(l))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// toEvent decodes one record. A record that is not a CloudEvent can never
// be delivered: it is given up (logged and counted) and ok is false.
func toEvent(ctx context.Context, m *sarama.ConsumerMessage, src Source, log *slog.Logger) (*cloudevents.Event, bool) {
	e, err := tfkafka.ToEvent(ctx, m)
	if err == nil {
		err = e.Validate()
	}
	if err != nil {
		log.Error("record is not a CloudEvent; given up", "source", src.Name, "topic", m.Topic,
			"partition", m.Partition, "offset", m.Offset, "error", err)
		telemetry.GivenUp.WithLabelValues("", "not_a_cloudevent").Inc()
		return nil, false
	}
	return e, true
}
