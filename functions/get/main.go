// Command get is TaskFlow's get function (a Knative Service); see pkg/handlers.Get.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
)

func main() { fn.Run("get", new(fn.APIConfig), fn.WithRoutes(handlers.Get)) }
