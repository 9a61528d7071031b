// Package kafkatest starts the embedded Kafka broker for tests.
package kafkatest

import (
	"context"
	"testing"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/ports"
)

// FreeAddr is a 127.0.0.1 address nothing listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := ports.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// Start runs an embedded broker with TaskFlow's topics for the test and
// returns its address.
func Start(t testing.TB) string {
	t.Helper()
	addr := FreeAddr(t)
	c, err := kafka.Embedded(addr, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return addr
}

// Producer is a durable producer (kafka.ProducerConfig) to the broker at
// addr, closed when the test ends.
func Producer(t testing.TB, addr string) sarama.SyncProducer {
	t.Helper()
	p, err := sarama.NewSyncProducer([]string{addr}, kafka.ProducerConfig("taskflow-test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// Produce sends evs to topic in binary mode (kafka.ProducerMessage), in
// one batch and in order per key; any failure ends the test.
func Produce(t testing.TB, p sarama.SyncProducer, topic string, evs ...cloudevents.Event) {
	t.Helper()
	msgs := make([]*sarama.ProducerMessage, 0, len(evs))
	for i := range evs {
		pm, err := kafka.ProducerMessage(context.Background(), topic, &evs[i])
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, pm)
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}
}
