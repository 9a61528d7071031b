// Command web is TaskFlow's web app (a Knative Service): the static client of
// UI.md, served at / of the REST base URL; see pkg/web.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/web"
)

func main() { fn.Run("web", new(web.Config), web.Function) }
