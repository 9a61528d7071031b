// Command update is TaskFlow's update function (a Knative Service); see pkg/handlers.Update.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Run("update", new(fn.APIConfig), fn.WithRoutes(handlers.Update)) }
