// Package kafka holds TaskFlow's Kafka settings and its one Kafka client
// library, sarama (under the CloudEvents kafka_sarama binding), for both
// directions: the durable producer configuration, the readers'
// configuration, and the CloudEvent ↔ Kafka message encoding.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/taskflow/taskflow/pkg/events"
)

// BrokerTopic is where the local Broker keeps the events posted to its
// ingress until they are dispatched, as Knative's Kafka broker does.
const BrokerTopic = "knative-broker-taskflow"

// Version is the Kafka protocol version TaskFlow speaks.
var Version = sarama.V3_6_0_0

// ProducerConfig is a durable producer: acknowledged by every in-sync
// replica, idempotent (no duplicates from its own retries, order kept per
// partition), every outcome returned to the caller.
func ProducerConfig(clientID string) *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = clientID
	c.Version = Version
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Idempotent = true
	c.Net.MaxOpenRequests = 1 // required by the idempotent producer; keeps order
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Retry.Max = 5
	c.Producer.Retry.Backoff = 100 * time.Millisecond
	c.Producer.Timeout = 10 * time.Second
	c.Net.DialTimeout = 3 * time.Second
	c.Net.ReadTimeout = 10 * time.Second
	c.Net.WriteTimeout = 10 * time.Second
	c.Metadata.Retry.Max = 1
	c.Metadata.Retry.Backoff = 250 * time.Millisecond
	return c
}

// ConsumerConfig is a reader (the local Broker's KafkaSources, the live
// stream, the load tool): from the oldest record when its group has no
// committed offset, errors returned to the caller, offsets it marks
// committed every second and when it stops.
//
// A fetch waits at most 250 ms for records (Consumer.MaxWaitTime) and
// returns as soon as one byte is there; a group's join retries every 100 ms
// (sarama's default of 2 s would hold a KafkaSource that starts alongside
// the broker), and a member that stopped heartbeating leaves after 10 s.
func ConsumerConfig(clientID string) *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = clientID
	c.Version = Version
	c.Consumer.Return.Errors = true
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.AutoCommit.Enable = true
	c.Consumer.Offsets.AutoCommit.Interval = time.Second
	c.Consumer.MaxWaitTime = 250 * time.Millisecond
	c.Consumer.Retry.Backoff = 250 * time.Millisecond
	c.Consumer.Group.Session.Timeout = 10 * time.Second
	c.Consumer.Group.Heartbeat.Interval = time.Second
	c.Consumer.Group.Rebalance.Timeout = 10 * time.Second
	c.Consumer.Group.Rebalance.Retry.Max = 50
	c.Consumer.Group.Rebalance.Retry.Backoff = 100 * time.Millisecond
	c.Net.DialTimeout = 3 * time.Second
	c.Net.ReadTimeout = 10 * time.Second
	c.Net.WriteTimeout = 10 * time.Second
	c.Metadata.Retry.Max = 1
	c.Metadata.Retry.Backoff = 250 * time.Millisecond
	return c
}

// Connect is a client of brokers with cfg, tried again (100 ms doubling to
// 5 s apart) while no broker answers, until ctx ends (then ctx's error).
func Connect(ctx context.Context, brokers []string, cfg *sarama.Config, log func(error)) (sarama.Client, error) {
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		c, err := sarama.NewClient(brokers, cfg)
		if err == nil {
			return c, nil
		}
		if log != nil {
			log(err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// CloudEvent converts an outbox event into a CloudEvent.
func CloudEvent(e events.Event) (cloudevents.Event, error) {
	ce := cloudevents.New()
	ce.SetID(e.ID)
	ce.SetType(e.Type)
	ce.SetSource(e.Source)
	ce.SetSubject(e.Subject)
	ce.SetTime(e.Time)
	if e.TraceParent != "" { // the CloudEvents distributed tracing extension
		ce.SetExtension("traceparent", e.TraceParent)
		if e.TraceState != "" {
			ce.SetExtension("tracestate", e.TraceState)
		}
	}
	for name, v := range e.Extensions { // for Triggers to filter on (events.ExtReminder)
		ce.SetExtension(name, v)
	}
	if err := ce.SetData("application/json", []byte(e.Data)); err != nil {
		return ce, err
	}
	return ce, ce.Validate()
}

// Messages renders e as one binary-mode Kafka message per topic, keyed by the
// task id so that a task's events stay in one partition, in order.
func Messages(ctx context.Context, e events.Event) ([]*sarama.ProducerMessage, error) {
	ce, err := CloudEvent(e)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", e.ID, err)
	}
	out := make([]*sarama.ProducerMessage, 0, len(e.Topics))
	for _, topic := range e.Topics {
		pm, err := ProducerMessage(ctx, topic, &ce)
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", e.ID, err)
		}
		out = append(out, pm)
	}
	return out, nil
}

// ProducerMessage encodes e in binary mode for topic with the CloudEvents
// Kafka binding, keyed by its subject (its id when it has none).
func ProducerMessage(ctx context.Context, topic string, e *cloudevents.Event) (*sarama.ProducerMessage, error) {
	pm := &sarama.ProducerMessage{Topic: topic}
	if err := kafka_sarama.WriteProducerMessage(ctx, binding.ToMessage(e), pm); err != nil {
		return nil, err
	}
	pm.Key = sarama.StringEncoder(e.Subject())
	if e.Subject() == "" {
		pm.Key = sarama.StringEncoder(e.ID())
	}
	return pm, nil
}

// ToEvent decodes a Kafka message (binary or structured mode) with the
// CloudEvents Kafka binding.
func ToEvent(ctx context.Context, m *sarama.ConsumerMessage) (*cloudevents.Event, error) {
	return binding.ToEvent(ctx, kafka_sarama.NewMessageFromConsumerMessage(m))
}

// Read consumes topic's partitions from the offsets in from (partition →
// offset, or sarama.OffsetOldest / OffsetNewest), with no consumer group,
// into one channel: each partition's messages in order. The channel is
// closed once ctx has ended and every partition consumer has stopped.
// Errors of a running partition consumer go to onErr (nil: dropped); a
// partition that cannot be started is an error, with nothing left running.
func Read(ctx context.Context, c sarama.Consumer, topic string, from map[int32]int64, onErr func(error)) (<-chan *sarama.ConsumerMessage, error) {
	pcs := make([]sarama.PartitionConsumer, 0, len(from))
	for p, off := range from {
		pc, err := c.ConsumePartition(topic, p, off)
		if err != nil {
			for _, pc := range pcs {
				pc.AsyncClose()
			}
			return nil, fmt.Errorf("%s/%d from %d: %w", topic, p, off, err)
		}
		pcs = append(pcs, pc)
	}
	out := make(chan *sarama.ConsumerMessage, 256)
	var wg sync.WaitGroup
	for _, pc := range pcs {
		wg.Go(func() {
			defer pc.AsyncClose()
			for {
				select {
				case m, ok := <-pc.Messages():
					if !ok {
						return
					}
					select {
					case out <- m:
					case <-ctx.Done():
						return
					}
				case err, ok := <-pc.Errors():
					if ok && onErr != nil {
						onErr(err)
					}
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out, nil
}

// Ends is the next offset (the high-water mark) of every partition of topic.
func Ends(c sarama.Client, topic string) (map[int32]int64, error) {
	parts, err := c.Partitions(topic)
	if err != nil {
		return nil, err
	}
	out := make(map[int32]int64, len(parts))
	for _, p := range parts {
		if out[p], err = c.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
			return nil, fmt.Errorf("%s/%d: %w", topic, p, err)
		}
	}
	return out, nil
}

// Lag is how many messages of each of topics group has not committed yet:
// the high-water mark minus the committed offset, summed over partitions
// (a partition the group never committed counts from its oldest offset).
func Lag(c sarama.Client, group string, topics []string) (map[string]int64, error) {
	adm, err := sarama.NewClusterAdminFromClient(c) // not closed: that would close c
	if err != nil {
		return nil, err
	}
	ends := map[string]map[int32]int64{}
	parts := map[string][]int32{}
	for _, t := range topics {
		if ends[t], err = Ends(c, t); err != nil {
			return nil, err
		}
		for p := range ends[t] {
			parts[t] = append(parts[t], p)
		}
	}
	res, err := adm.ListConsumerGroupOffsets(group, parts)
	if err != nil {
		return nil, err
	}
	if res.Err != sarama.ErrNoError {
		return nil, res.Err
	}
	out := map[string]int64{}
	for t, byPart := range ends {
		for p, end := range byPart {
			committed := int64(-1)
			if b := res.GetBlock(t, p); b != nil && b.Err == sarama.ErrNoError {
				committed = b.Offset
			}
			if committed < 0 {
				if committed, err = c.GetOffset(t, p, sarama.OffsetOldest); err != nil {
					return nil, err
				}
			}
			out[t] += max(end-committed, 0)
		}
	}
	return out, nil
}

// ReadAll reads topic from its start until two seconds in a row bring
// nothing: what checks and tests read back after the fact.
func ReadAll(ctx context.Context, brokers []string, topic string) ([]*sarama.ConsumerMessage, error) {
	c, err := sarama.NewClient(brokers, ConsumerConfig("taskflow-read-all"))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	parts, err := c.Partitions(topic)
	if err != nil {
		return nil, err
	}
	from := map[int32]int64{}
	for _, p := range parts {
		from[p] = sarama.OffsetOldest
	}
	cons, err := sarama.NewConsumerFromClient(c)
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	msgs, err := Read(rctx, cons, topic, from, nil)
	if err != nil {
		return nil, err
	}
	var out []*sarama.ConsumerMessage
	quiet := time.NewTimer(2 * time.Second)
	defer quiet.Stop()
	for {
		select {
		case m := <-msgs:
			out = append(out, m)
			quiet.Reset(2 * time.Second)
		case <-quiet.C:
			return out, nil
		case <-ctx.Done():
			return out, ctx.Err()
		}
	}
}

// Header is the value of a message's header key ("" when absent).
func Header(m *sarama.ConsumerMessage, key string) string {
	for _, h := range m.Headers {
		if h != nil && string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// ErrTooLarge reports whether err is Kafka's (or sarama's own, before
// sending) refusal of a message or batch too large for the cluster.
func ErrTooLarge(err error) bool {
	return errors.Is(err, sarama.ErrMessageSizeTooLarge) || errors.Is(err, sarama.ErrMessageSetSizeTooLarge)
}
