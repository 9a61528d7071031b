// Command calendar is TaskFlow's calendar feed function (a Knative Service); see pkg/handlers.Calendar.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Run("calendar", new(fn.APIConfig), fn.WithRoutes(handlers.Calendar)) }
