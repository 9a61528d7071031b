// Command create is TaskFlow's create function (a Knative Service); see pkg/handlers.Create.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Main("create", handlers.Create) }
