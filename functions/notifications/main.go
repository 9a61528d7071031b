// Command notifications is TaskFlow's notifications function (a Knative
// Service); see pkg/handlers.Notifications.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Run("notifications", new(fn.APIConfig), fn.WithRoutes(handlers.Notifications)) }
