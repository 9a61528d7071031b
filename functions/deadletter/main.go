// Command deadletter keeps the events every Trigger gave up on (the
// dead-letter sink; see pkg/consumers.DeadLetter), lets an operator list and
// replay them (pkg/deadletters), and keeps TaskFlow's bookkeeping tables
// bounded (pkg/retention).
package main

import (
	"github.com/taskflow/taskflow/pkg/deadletters"
	"github.com/taskflow/taskflow/pkg/fn"
)

func main() { fn.Run("deadletter", new(deadletters.Config), deadletters.New) }
