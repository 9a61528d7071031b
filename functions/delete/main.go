// Command delete is TaskFlow's delete function (a Knative Service); see pkg/handlers.Delete.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Run("delete", new(fn.APIConfig), fn.WithRoutes(handlers.Delete)) }
