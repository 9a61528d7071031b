package deadletters

import (
	"context"
	"net/http"

	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/retention"
)

// Config is the deadletter function's environment: the sink's database, the
// operator endpoints' token and the purge's retentions.
type Config struct {
	fn.ConsumerConfig
	Operator
	retention.Config
}

// New builds the deadletter function: the sink at its root
// (consumers.DeadLetter), the operator endpoints, and the purge loop as its
// background work (retention.Loop).
func New(_ context.Context, cfg *Config, d *fn.Deps) (*fn.Function, error) {
	h := &Handler{Store: d.Store, Log: d.Log, Cfg: cfg.Operator, ReplayableFor: cfg.ReplayableFor(), Now: d.Now}
	handlers := map[string]http.Handler{}
	h.Register(handlers)
	return &fn.Function{
		Events:   consumers.DeadLetter(d),
		Handlers: handlers,
		Start:    func(ctx context.Context) error { return retention.Loop(ctx, d.Store, cfg.Config, d.Log) },
	}, nil
}
