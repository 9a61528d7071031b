// Package kafka holds TaskFlow's Kafka settings: the durable producer
// configuration (sarama, under the CloudEvents kafka_sarama binding) and the
// CloudEvent ↔ Kafka message conversion.
package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

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
		pm := &sarama.ProducerMessage{Topic: topic}
		if err := kafka_sarama.WriteProducerMessage(ctx, binding.ToMessage(&ce), pm); err != nil {
			return nil, fmt.Errorf("event %s: %w", e.ID, err)
		}
		pm.Key = sarama.StringEncoder(e.Subject)
		out = append(out, pm)
	}
	return out, nil
}

// ToEvent decodes a Kafka record (binary or structured mode) with the
// CloudEvents Kafka binding.
func ToEvent(ctx context.Context, r *kgo.Record) (*cloudevents.Event, error) {
	cm := &sarama.ConsumerMessage{Key: r.Key, Value: r.Value, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	for _, h := range r.Headers {
		cm.Headers = append(cm.Headers, &sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value})
	}
	return binding.ToEvent(ctx, kafka_sarama.NewMessageFromConsumerMessage(cm))
}

// ToRecord encodes e in binary mode for topic, keyed by its subject.
func ToRecord(ctx context.Context, topic string, e cloudevents.Event) (*kgo.Record, error) {
	pm := &sarama.ProducerMessage{Topic: topic}
	if err := kafka_sarama.WriteProducerMessage(ctx, binding.ToMessage(&e), pm); err != nil {
		return nil, err
	}
	r := &kgo.Record{Topic: topic, Key: []byte(e.Subject())}
	if e.Subject() == "" {
		r.Key = []byte(e.ID())
	}
	if pm.Value != nil {
		v, err := pm.Value.Encode()
		if err != nil {
			return nil, err
		}
		r.Value = v
	}
	for _, h := range pm.Headers {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: string(h.Key), Value: h.Value})
	}
	return r, nil
}

// ReadAll reads topic from its start until two polls in a row (a second
// each) bring nothing: what checks and tests read back after the fact.
func ReadAll(ctx context.Context, brokers []string, topic string) ([]*kgo.Record, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var out []*kgo.Record
	for quiet := 0; quiet < 2 && ctx.Err() == nil; {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if fs.NumRecords() == 0 {
			quiet++
		}
		out = append(out, fs.Records()...)
	}
	return out, ctx.Err()
}

// Header is the value of a record's header key ("" when absent).
func Header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
