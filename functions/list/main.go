// Command list is TaskFlow's list function (a Knative Service); see pkg/handlers.List.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Run("list", new(fn.APIConfig), fn.WithRoutes(handlers.List)) }
