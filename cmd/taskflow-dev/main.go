// Command taskflow-dev runs the local stack (`make run`), issues dev tokens
// (`make token USER=alice`) and applies migrations.
//
//	taskflow-dev run            start every function and the gateway
//	taskflow-dev token USER     print an HS256 token for USER (24 h)
//	taskflow-dev migrate        apply migrations to DATABASE_URL
//	taskflow-dev deadletters    list and replay dead letters (deadletters.go)
//
// Its settings are the local stack's (docs/settings.md); with no token
// secret set, the stack and its tokens share a dev secret kept in
// .cache/dev-secret.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/devstack"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/store"
)

func main() {
	ctx, stop := fn.SignalContext()
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fn.NewLogger("devstack", "info").Error("taskflow-dev", "error", err)
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
	if cmd == "deadletters" {
		return deadLetters(ctx, args[1:], os.Stdout)
	}
	var cfg devstack.Config
	if err := fn.Load(&cfg); err != nil {
		return err
	}
	switch cmd {
	case "run":
		// The terminal gets the stack's warnings and errors; every level
		// goes to its log file under cfg.LogDir.
		return devstack.New(cfg, fn.NewLogger("devstack", "warn"), os.Stdout).Run(ctx)
	case "migrate":
		return store.Migrate(ctx, cfg.DatabaseURL)
	default:
		return fmt.Errorf("unknown command %q: want run, token, migrate or deadletters", cmd)
	}
}

// token prints a 24-hour HS256 token for the user named in args, signed with
// the secret the local stack accepts.
func token(args []string) error {
	if len(args) != 1 || args[0] == "" {
		return fmt.Errorf("usage: taskflow-dev token USER")
	}
	var keys devstack.Secrets
	if err := fn.Load(&keys); err != nil {
		return err
	}
	secret, err := keys.TokenSecret()
	if err != nil {
		return err
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
