// Command deadletter keeps the events every Trigger gave up on (the
// dead-letter sink; see pkg/consumers.DeadLetter).
package main

import (
	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/fn"
)

func main() { fn.Run("deadletter", new(fn.ConsumerConfig), fn.WithEvents(consumers.DeadLetter)) }
