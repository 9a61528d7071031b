// Command recurrence is TaskFlow's recurrence function (a Knative Service):
// POST /api/recurrence/preview (pkg/handlers.Preview) and, behind a Trigger on
// task.completed, the next occurrence of a completed recurring task, exactly
// once (pkg/consumers.Recurrence).
package main

import (
	"context"

	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() {
	fn.Run("recurrence", new(fn.APIConfig), func(_ context.Context, _ *fn.APIConfig, d *fn.Deps) (*fn.Function, error) {
		return &fn.Function{Routes: handlers.Preview(d), Events: consumers.Recurrence(d)}, nil
	})
}
