// Command settings is TaskFlow's settings function (a Knative Service); see pkg/handlers.Settings.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Run("settings", new(fn.APIConfig), fn.WithRoutes(handlers.Settings)) }
