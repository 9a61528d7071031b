package broker

import (
	"context"
	"log/slog"
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

// batchMax bounds the records of one partition taken into a batch.
const batchMax = 500

// consume reads src's topics with its consumer group (sarama's) and
// dispatches every record: partitions in parallel, each in batches of the
// records already fetched, each batch through a Dispatcher.Partition (in
// order to an ordered Trigger of an ordered source, in parallel otherwise).
// A batch's offsets are marked only after every record of it was delivered
// or given up (Dispatch); marked offsets are committed every second and when
// the source stops. So a record that can never be delivered holds its
// partition only for its Trigger's retry schedule.
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

// ConsumeClaim delivers one partition's records until the session ends: it
// waits for a record, takes the ones already fetched behind it (at most
// batchMax), delivers them through one Dispatcher.Partition and marks the
// batch once every record was taken or given up.
func (h *handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	batch := make([]*sarama.ConsumerMessage, 0, batchMax)
	for {
		batch = batch[:0]
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			batch = append(batch, m)
		case <-sess.Context().Done():
			return nil
		}
	more:
		for len(batch) < batchMax {
			select {
			case m, ok := <-claim.Messages():
				if !ok {
					break more
				}
				batch = append(batch, m)
			default:
				break more
			}
		}
		part := h.d.Partition(h.ctx, h.src)
		for _, m := range batch {
			if e, ok := toEvent(h.ctx, m, h.src, h.log); ok {
				part.Deliver(*e)
			}
		}
		if err := part.Wait(); err != nil {
			return nil // the stack stops: not marked, redelivered after a restart as at-least-once allows
		}
		sess.MarkMessage(batch[len(batch)-1], "")
	}
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
