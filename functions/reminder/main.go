// Command reminder keeps one Dapr Job per pending reminder and emits
// reminder.due when Dapr calls back (an always-on Knative Service with a
// Dapr sidecar; see pkg/reminders). It takes task.* events from Triggers at
// POST / and Dapr's job callbacks at POST /job/<name>, and reconciles the
// jobs with PostgreSQL at start and every minute.
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/reminders"
)

type config struct {
	DaprGRPC  string        `envconfig:"DAPR_GRPC_ENDPOINT" default:"127.0.0.1:50001"`
	Reconcile time.Duration `envconfig:"TASKFLOW_RECONCILE_INTERVAL" default:"1m"`
}

func main() {
	var cfg config
	if err := envconfig.Process("", &cfg); err != nil {
		fn.Exit(fn.NewLogger("reminder", "info"), err)
	}
	fn.ServeWith("reminder", func(ctx context.Context, _ fn.Config, d *fn.Deps) (http.Handler, error) {
		svc := &reminders.Service{Store: d.Store, Jobs: &reminders.DaprJobs{Addr: cfg.DaprGRPC}, Log: d.Log, Now: d.Now}
		go svc.RunReconciler(ctx, cfg.Reconcile)
		mux := http.NewServeMux()
		mux.Handle("/job/", svc.JobHandler())
		mux.Handle("/", fn.Events(d.Log, svc.Consumers(d)))
		return mux, nil
	})
}
