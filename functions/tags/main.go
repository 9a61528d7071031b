// Command tags is TaskFlow's tags function (a Knative Service); see pkg/handlers.Tags.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Run("tags", new(fn.APIConfig), fn.WithRoutes(handlers.Tags)) }
