package broker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	tfkafka "github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// IngressTopic holds the events posted to the Broker ingress until they are
// dispatched, as the Kafka broker keeps them in a topic of its own.
const IngressTopic = tfkafka.BrokerTopic

// ingressSource consumes IngressTopic like a KafkaSource.
var ingressSource = Source{Name: "broker-ingress", Topics: []string{IngressTopic}, ConsumerGroup: "taskflow-broker-ingress"}

// consume reads src's topics with its consumer group and dispatches every
// record: partitions in parallel, each through a Dispatcher.Partition
// (in order to an ordered Trigger of an ordered source, in parallel otherwise). Offsets are committed only
// after every record of a poll was delivered or given up (Dispatch), so a
// record that can never be delivered holds its source only for its Trigger's
// retry schedule.
func consume(ctx context.Context, brokers []string, client []kgo.Opt, src Source, d *Dispatcher, log *slog.Logger) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumerGroup(src.ConsumerGroup),
		kgo.ConsumeTopics(src.Topics...), kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, client...)...)
	if err != nil {
		return fmt.Errorf("source %s: %w", src.Name, err)
	}
	defer cl.Close()
	defer cl.AllowRebalance() // a blocked rebalance would hold Close forever
	lagCtx, stopLag := context.WithCancel(ctx)
	defer stopLag()
	go watchLag(lagCtx, kadm.NewClient(cl), src)
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		fs.EachError(func(topic string, p int32, err error) {
			log.Warn("fetch failed", "source", src.Name, "topic", topic, "partition", p, "error", err)
		})
		var wg sync.WaitGroup
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			wg.Go(func() {
				part := d.Partition(ctx, src)
				for _, r := range p.Records {
					if e, ok := toEvent(ctx, r, src, log); ok {
						part.Deliver(*e)
					}
				}
				_ = part.Wait() // an error means ctx ended: not committed below
			})
		})
		wg.Wait()
		if ctx.Err() != nil {
			return nil // not committed: redelivered after a restart, as at-least-once allows
		}
		if err := cl.CommitRecords(ctx, fs.Records()...); err != nil {
			log.Warn("commit failed", "source", src.Name, "error", err)
		}
		cl.AllowRebalance()
	}
}

// watchLag keeps taskflow_kafka_consumer_lag current for src's consumer
// group (every 2 s), as Knative's Kafka dispatcher reports its own.
func watchLag(ctx context.Context, adm *kadm.Client, src Source) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		lags, err := adm.Lag(qctx, src.ConsumerGroup)
		cancel()
		for _, g := range lags {
			if err != nil || g.Error() != nil {
				break
			}
			for topic, l := range g.Lag.TotalByTopic() {
				telemetry.ConsumerLag.WithLabelValues(src.Name, topic).Set(float64(l.Lag))
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
func toEvent(ctx context.Context, r *kgo.Record, src Source, log *slog.Logger) (*cloudevents.Event, bool) {
	e, err := tfkafka.ToEvent(ctx, r)
	if err == nil {
		err = e.Validate()
	}
	if err != nil {
		log.Error("record is not a CloudEvent; given up", "source", src.Name, "topic", r.Topic,
			"partition", r.Partition, "offset", r.Offset, "error", err)
		telemetry.GivenUp.WithLabelValues("", "not_a_cloudevent").Inc()
		return nil, false
	}
	return e, true
}
