// Command notify turns reminder.due events into in-app notifications, pushes
// them to the live stream and posts them to the webhook (a cluster-local
// Knative Service behind a Trigger; see pkg/consumers.Notify).
package main

import (
	"github.com/kelseyhightower/envconfig"

	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/fn"
)

func main() {
	var wh consumers.Webhook
	if err := envconfig.Process("", &wh); err != nil {
		fn.Exit(fn.NewLogger("notify", "info"), err)
	}
	fn.Consume("notify", consumers.Notify(wh))
}
