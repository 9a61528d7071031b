// Command relay publishes the transactional outbox to Kafka (see pkg/relay).
// It runs as one always-on Knative Service (min-scale 1).
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/relay"
)

func main() { fn.Run("relay", new(relay.Config), relay.Function) }
