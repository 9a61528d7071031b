// Command updates serves GET /api/updates, the live stream of a user's task
// changes (a Knative Service; see pkg/updates).
package main

import (
	"github.com/kelseyhightower/envconfig"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/updates"
)

func main() {
	var cfg updates.Config
	if err := envconfig.Process("", &cfg); err != nil {
		fn.Exit(fn.NewLogger("updates", "info"), err)
	}
	opts, err := cfg.Auth.Opts()
	if err != nil {
		fn.Exit(fn.NewLogger("updates", "info"), err)
	}
	fn.Main("updates", updates.New(cfg.Brokers, opts...).Routes)
}
