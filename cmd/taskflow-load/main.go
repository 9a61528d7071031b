// Command taskflow-load creates TaskFlow's benchmark data set and measures the running
// stack from a second process, on this machine only (loopback addresses).
//
//	go run ./cmd/taskflow-load seed     -tasks 1000000 -user-tasks 100000
//	go run ./cmd/taskflow-load create   -clients 32 -duration 20s
//	go run ./cmd/taskflow-load search   -clients 4 -requests 2000
//	go run ./cmd/taskflow-load filter   -clients 4 -requests 2000
//	go run ./cmd/taskflow-load events   -rate 500 -duration 60s -clients 16
//	go run ./cmd/taskflow-load successors -requests 200 -clients 2
//	go run ./cmd/taskflow-load streams  -requests 200 -rate 20
//	go run ./cmd/taskflow-load reminders -requests 1000 -clients 16 -duration 30s
//	go run ./cmd/taskflow-load schedcost -rate 20 -duration 15s  (0: back to back)
//	go run ./cmd/taskflow-load startup  (ready time and idle RSS of every function)
//
// DATABASE_URL (seed) and TASKFLOW_AUTH_SECRET (requests) come from the
// environment; `make load ARGS=...` fills them in as `make run` does.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"
)

type options struct {
	api       string
	secret    string
	user      string
	clients   int
	requests  int
	duration  time.Duration
	tasks     int
	userTasks int
	binDir    string
	seed      uint64
	rate      int
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: taskflow-load seed|create|search|filter|events|successors|streams|reminders|schedcost|startup [flags]")
		os.Exit(2)
	}
	mode := os.Args[1]
	var o options
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	fs.StringVar(&o.api, "api", "http://"+env("TASKFLOW_API_ADDR", "127.0.0.1:8080"), "REST base URL (loopback only)")
	fs.StringVar(&o.secret, "secret", os.Getenv("TASKFLOW_AUTH_SECRET"), "HS256 secret for tokens")
	fs.StringVar(&o.user, "user", "bench-user", "the user whose tasks are measured")
	fs.IntVar(&o.clients, "clients", 1, "concurrent clients")
	fs.IntVar(&o.requests, "requests", 2000, "requests in all (search, filter)")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "how long to send creates")
	fs.IntVar(&o.tasks, "tasks", 1_000_000, "tasks in the table after seeding")
	fs.IntVar(&o.userTasks, "user-tasks", 100_000, "of which belong to -user")
	fs.StringVar(&o.binDir, "bin", ".cache/bin", "where the built functions are (startup)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed of the data set and queries")
	fs.IntVar(&o.rate, "rate", 100, "creates per second (events, streams, schedcost)")
	_ = fs.Parse(os.Args[2:])
	if err := loopbackOnly(o.api); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	var err error
	switch mode {
	case "seed":
		err = seed(ctx, o)
	case "create":
		err = creates(ctx, o)
	case "search":
		err = searches(ctx, o)
	case "filter":
		err = filters(ctx, o)
	case "events":
		if o.rate < 1 || o.rate > 5000 {
			err = fmt.Errorf("-rate must be 1..5000")
			break
		}
		err = eventLatency(ctx, o)
	case "streams":
		if o.rate < 1 || o.rate > 1000 {
			err = fmt.Errorf("-rate must be 1..1000")
			break
		}
		err = streams(ctx, o)
	case "reminders":
		err = reminders(ctx, o)
	case "schedcost":
		if o.rate < 0 || o.rate > 1000 {
			err = fmt.Errorf("-rate must be 0..1000")
			break
		}
		err = schedCost(ctx, o)
	case "successors":
		err = successors(ctx, o)
	case "startup":
		err = startup(ctx, o)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// loopbackOnly refuses to send load anywhere but this machine.
func loopbackOnly(api string) error {
	u, err := url.Parse(api)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to load %s: only loopback addresses", api)
	}
	return nil
}
