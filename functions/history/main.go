// Command history is TaskFlow's history function (a Knative Service); see pkg/handlers.History.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Run("history", new(fn.APIConfig), fn.WithRoutes(handlers.History)) }
