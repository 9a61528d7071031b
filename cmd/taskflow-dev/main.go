// Command taskflow-dev runs the local stack (`make run`), issues dev tokens
// (`make token USER=alice`) and applies migrations.
//
//	taskflow-dev run            start every function and the gateway
//	taskflow-dev token USER     print an HS256 token for USER (24 h)
//	taskflow-dev migrate        apply migrations to DATABASE_URL
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/devstack"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/store"
)

func main() {
	log := fn.NewLogger("devstack", "info")
	ctx, stop := fn.SignalContext()
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		log.Error("taskflow-dev", "error", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "run"
	if len(args) > 0 {
		cmd = args[0]
	}
	if cmd == "token" {
		return token(args[1:])
	}
	var cfg devstack.Config
	if err := envconfig.Process("", &cfg); err != nil {
		return err
	}
	if cfg.Secret == "" {
		cfg.Secret = os.Getenv("BETTER_AUTH_SECRET")
	}
	switch cmd {
	case "run":
		// The terminal gets the stack's warnings and errors; every level
		// goes to its log file under cfg.LogDir.
		return devstack.New(cfg, fn.NewLogger("devstack", "warn"), os.Stdout).Run(ctx)
	case "migrate":
		return store.Migrate(ctx, cfg.DatabaseURL)
	default:
		return fmt.Errorf("unknown command %q: want run, token or migrate", cmd)
	}
}

// token prints a 24-hour HS256 token for the user named in args.
func token(args []string) error {
	if len(args) != 1 || args[0] == "" {
		return fmt.Errorf("usage: taskflow-dev token USER")
	}
	secret := os.Getenv("TASKFLOW_AUTH_SECRET")
	if secret == "" {
		secret = os.Getenv("BETTER_AUTH_SECRET")
	}
	if len(secret) < auth.MinSecretLen {
		return fmt.Errorf("TASKFLOW_AUTH_SECRET must be at least %d bytes", auth.MinSecretLen)
	}
	tok, err := auth.Sign([]byte(secret), args[0], time.Now(), 24*time.Hour)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}
