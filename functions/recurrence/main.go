// Command recurrence creates the next occurrence of a completed recurring
// task, exactly once (a cluster-local Knative Service behind a Trigger on
// task.completed; see pkg/consumers.Recurrence).
package main

import (
	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/fn"
)

func main() { fn.Run("recurrence", new(fn.ConsumerConfig), fn.WithEvents(consumers.Recurrence)) }
