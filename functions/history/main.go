// Command history is TaskFlow's history function (a Knative Service); see pkg/handlers.History.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Main("history", handlers.History) }
