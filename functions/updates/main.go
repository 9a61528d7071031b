// Command updates serves GET /api/updates, the live stream of a user's task
// changes (a Knative Service; see pkg/updates).
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/updates"
)

func main() { fn.Run("updates", new(updates.Config), updates.Function) }
