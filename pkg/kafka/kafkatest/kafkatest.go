// Package kafkatest starts the embedded Kafka broker for tests.
package kafkatest

import (
	"testing"

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
