// Command gateway is TaskFlow's one REST base URL: it routes API.md's paths to
// the functions (see pkg/gateway).
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/gateway"
)

func main() { fn.Run("gateway", new(gateway.Config), gateway.Function) }
