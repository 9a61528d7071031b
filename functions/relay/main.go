// Command relay publishes the transactional outbox to Kafka (see pkg/relay).
// It runs as one always-on Knative Service (min-scale 1).
package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/kelseyhightower/envconfig"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/relay"
	"github.com/taskflow/taskflow/pkg/store"
)

type config struct {
	Port        int    `envconfig:"PORT" default:"8080"`
	Host        string `envconfig:"TASKFLOW_LISTEN_HOST"`
	DatabaseURL string `envconfig:"DATABASE_URL" required:"true"`
	LogLevel    string `envconfig:"LOG_LEVEL" default:"info"`
	relay.Config
}

func main() {
	var cfg config
	err := envconfig.Process("", &cfg)
	log := fn.NewLogger("relay", cfg.LogLevel)
	if err != nil {
		fn.Exit(log, err)
	}
	if err := cfg.Auth.Sarama(kafka.ProducerConfig("relay")); err != nil {
		fn.Exit(log, err) // a bad TLS or SASL setting fails now, not at every publish
	}
	ctx, stop := fn.SignalContext()
	defer stop()
	fn.Exit(log, run(ctx, cfg, log))
}

func run(ctx context.Context, cfg config, log *slog.Logger) error {
	st, err := store.Open(ctx, cfg.DatabaseURL, 4)
	if err != nil {
		return err
	}
	defer st.Close()
	r := relay.New(cfg.Config, st, cfg.DatabaseURL, log)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	srv := &fn.Server{Name: "relay", Addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), Handler: http.NotFoundHandler(), Ready: r.Ready, Log: log}
	if err := srv.Run(ctx); err != nil {
		return err
	}
	return <-done
}
