// Command complete is TaskFlow's complete function (a Knative Service); see pkg/handlers.Complete.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Run("complete", new(fn.APIConfig), fn.WithRoutes(handlers.Complete)) }
