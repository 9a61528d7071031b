// Command reminder keeps one Dapr Job per pending reminder and emits
// reminder.due when Dapr calls back (an always-on Knative Service with a
// Dapr sidecar; see pkg/reminders.Function). It takes task.* events from
// Triggers at POST / and Dapr's job callbacks at POST /job/<name>, and
// reconciles the jobs with PostgreSQL at start and every minute.
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/reminders"
)

func main() { fn.Run("reminder", new(reminders.Config), reminders.Function) }
