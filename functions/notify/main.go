// Command notify turns reminder.due events into in-app notifications, pushes
// them to the live stream and delivers them to the webhook, retrying owed
// deliveries in the background (an always-on, cluster-local Knative Service
// behind a Trigger; see pkg/consumers.Notifier).
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/fn"
)

func main() {
	var wh consumers.Webhook
	if err := envconfig.Process("", &wh); err != nil {
		fn.Exit(fn.NewLogger("notify", "info"), err)
	}
	fn.ServeWith("notify", func(ctx context.Context, _ fn.Config, d *fn.Deps) (http.Handler, error) {
		n := consumers.NewNotifier(wh, d.Store, d.Log, d.Now)
		go n.RunSweeper(ctx, time.Second)
		return fn.Events(d.Log, n.Consumers(d)), nil
	})
}
