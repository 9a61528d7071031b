// Command create is TaskFlow's create function (a Knative Service): the REST
// create (pkg/handlers.Create) and the dev.taskflow.task.create command event
// (pkg/consumers.CreateCommand) POSTed to / by a Trigger.
package main

import (
	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Serve("create", handlers.Create, consumers.CreateCommand) }
