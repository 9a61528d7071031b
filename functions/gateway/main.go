// Command gateway is TaskFlow's one REST base URL: it routes API.md's paths to
// the functions (see pkg/gateway).
package main

import (
	"net"
	"strconv"

	"github.com/kelseyhightower/envconfig"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/gateway"
)

func main() {
	var cfg gateway.Config
	err := envconfig.Process("", &cfg)
	log := fn.NewLogger("gateway", cfg.LogLevel)
	if err != nil {
		fn.Exit(log, err)
	}
	ctx, stop := fn.SignalContext()
	defer stop()
	g, err := gateway.New(cfg.Upstreams, log)
	if err != nil {
		fn.Exit(log, err)
	}
	for _, u := range cfg.HealthURLs {
		g.CheckURL(u)
	}
	srv := &fn.Server{Name: "gateway", Addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), Handler: g, Ready: g.Ready, Log: log}
	fn.Exit(log, srv.Run(ctx))
}
