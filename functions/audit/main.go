// Command audit records every task event once, for the history endpoint
// (a cluster-local Knative Service behind Triggers; see pkg/consumers.Audit).
package main

import (
	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/fn"
)

func main() { fn.Run("audit", new(fn.ConsumerConfig), fn.WithEvents(consumers.Audit)) }
