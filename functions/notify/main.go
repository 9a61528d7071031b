// Command notify turns reminder.due events into in-app notifications, pushes
// them to the live stream and delivers them to the webhook, retrying owed
// deliveries in the background (an always-on, cluster-local Knative Service
// behind a Trigger; see pkg/consumers.NotifyFunction).
package main

import (
	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/fn"
)

func main() { fn.Run("notify", new(consumers.NotifyConfig), consumers.NotifyFunction) }
