package broker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"

	tfkafka "github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// IngressTopic holds the events posted to the Broker ingress until they are
// dispatched, as the Kafka broker keeps them in a topic of its own.
const IngressTopic = tfkafka.BrokerTopic

// ingressSource consumes IngressTopic like a KafkaSource.
var ingressSource = Source{Name: "broker-ingress", Topics: []string{IngressTopic}, ConsumerGroup: "taskflow-broker-ingress"}

// Parallel bounds the deliveries of an unordered source in flight at once.
const Parallel = 32

// consume reads src's topics with its consumer group (sarama's) and
// dispatches every record: partitions in parallel, and the records of a
// partition in order for an ordered source or in parallel otherwise. A
// record's offset is marked only once it and every record before it in its
// partition were delivered or given up (Dispatch); marked offsets are
// committed every second and when the source stops. So a record that can
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
	h := &handler{ctx: ctx, src: src, d: d, log: log, slots: make(chan struct{}, Parallel)}
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
	ctx   context.Context // the Broker's: a delivery outlives a rebalance
	src   Source
	d     *Dispatcher
	log   *slog.Logger
	slots chan struct{} // the source's deliveries in flight (unordered)
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim delivers one partition's records until the session ends,
// then waits for the deliveries in flight.
func (h *handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	if h.src.Ordered {
		for {
			select {
			case m, ok := <-claim.Messages():
				if !ok {
					return nil
				}
				deliverRecord(h.ctx, m, h.d, h.src, h.log)
				if h.ctx.Err() != nil {
					return nil // not marked: redelivered after a restart, as at-least-once allows
				}
				sess.MarkMessage(m, "")
			case <-sess.Context().Done():
				return nil
			}
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	w := &window{}
	for {
		var m *sarama.ConsumerMessage
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			m = msg
		case <-sess.Context().Done():
			return nil
		}
		select {
		case h.slots <- struct{}{}:
		case <-sess.Context().Done():
			return nil
		}
		w.start(m.Offset)
		wg.Go(func() {
			defer func() { <-h.slots }()
			deliverRecord(h.ctx, m, h.d, h.src, h.log)
			if h.ctx.Err() != nil {
				return // not marked: redelivered after a restart
			}
			w.done(m.Offset, func(next int64) { sess.MarkOffset(m.Topic, m.Partition, next, "") })
		})
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

// deliverRecord dispatches one record. It returns once every Trigger has
// taken the event or given it up (see Dispatch), or when the stack stops. A
// record that is not a CloudEvent can never be delivered: it is given up too.
func deliverRecord(ctx context.Context, m *sarama.ConsumerMessage, d *Dispatcher, src Source, log *slog.Logger) {
	e, err := tfkafka.ToEvent(ctx, m)
	if err == nil {
		err = e.Validate()
	}
	if err != nil {
		log.Error("record is not a CloudEvent; given up", "source", src.Name, "topic", m.Topic,
			"partition", m.Partition, "offset", m.Offset, "error", err)
		telemetry.GivenUp.WithLabelValues("", "not_a_cloudevent").Inc()
		return
	}
	_ = d.Dispatch(ctx, *e) // an error means ctx ended: the record is not marked then
}
