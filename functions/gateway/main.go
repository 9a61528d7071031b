// Command gateway is TaskFlow's one REST base URL: it routes API.md's paths to
// the functions (see pkg/gateway).
package main

import (
	"context"
	"net"
	"strconv"

	"github.com/kelseyhightower/envconfig"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/gateway"
)

func main() {
	var cfg gateway.Config
	log := fn.NewLogger("gateway", "info")
	ctx, stop := fn.SignalContext()
	defer stop()
	fn.Exit(log, func(ctx context.Context) error {
		if err := envconfig.Process("", &cfg); err != nil {
			return err
		}
		g, err := gateway.New(cfg.Upstreams, log)
		if err != nil {
			return err
		}
		srv := &fn.Server{Name: "gateway", Addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), Handler: g, Ready: g.Ready, Log: log}
		return srv.Run(ctx)
	}(ctx))
}
