// Command search is TaskFlow's search function (a Knative Service); see pkg/handlers.Search.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Run("search", new(fn.APIConfig), fn.WithRoutes(handlers.Search)) }
