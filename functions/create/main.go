// Command create is TaskFlow's create function (a Knative Service): the REST
// create (pkg/handlers.Create) and the dev.taskflow.task.create command event
// (pkg/consumers.CreateCommand) POSTed to / by a Trigger.
package main

import (
	"context"

	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() {
	fn.Run("create", new(fn.APIConfig), func(_ context.Context, _ *fn.APIConfig, d *fn.Deps) (*fn.Function, error) {
		return &fn.Function{Routes: handlers.Create(d), Events: consumers.CreateCommand(d)}, nil
	})
}
