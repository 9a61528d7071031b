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
//	go run ./cmd/taskflow-load fanout   -streams 2000 -users 200 -rate 50 -duration 30s
//	go run ./cmd/taskflow-load reminders -requests 1000 -clients 16 -duration 30s
//	go run ./cmd/taskflow-load schedcost -rate 20 -duration 15s  (0: back to back)
//	go run ./cmd/taskflow-load startup  (ready time and idle RSS of every function)
//
// DATABASE_URL (seed) and the token secret (requests; the local stack's, as
// taskflow-dev resolves it, unless -secret is given) come from the
// environment; `make load ARGS=...` fills them in as `make run` does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/taskflow/taskflow/pkg/devstack"
	"github.com/taskflow/taskflow/pkg/fn"
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
	streams   int       // fanout
	users     int       // fanout
	pid       int       // fanout: the updates process (0: found)
	perTask   int       // reminders: reminders per task (1..5)
	out       io.Writer // where the figures go
}

type mode struct {
	name string
	run  func(context.Context, options) error
}

// modes are the tool's commands, in the order the usage line names them.
var modes = []mode{
	{"seed", seed}, {"create", creates}, {"search", searches}, {"filter", filters}, {"events", eventLatency},
	{"successors", successors}, {"completes", completes}, {"streams", streams}, {"fanout", fanout}, {"reminders", reminders}, {"schedcost", schedCost},
	{"startup", startup}, {"firstscreen", firstScreens}, {"signin", signIns},
}

// rateBounds are the -rate each mode accepts; the others ignore it.
var rateBounds = map[string][2]int{"events": {1, 5000}, "streams": {1, 1000}, "fanout": {1, 1000}, "schedcost": {0, 1000}}

func usage() string {
	names := make([]string, len(modes))
	for i, m := range modes {
		names[i] = m.name
	}
	return "usage: taskflow-load " + strings.Join(names, "|") + " [flags]"
}

// errUsage marks a command line the tool cannot run (exit status 2).
var errUsage = errors.New("usage")

func main() {
	os.Exit(cli(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// cli runs one command line and returns the exit status: 0, 1 when the mode
// failed, 2 when the command line is wrong.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	run, o, err := parse(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintln(stderr, err)
		return 2
	}
	o.out = stdout
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(stderr, "load:", err)
		return 1
	}
	return 0
}

// parse reads the mode and its flags. Every error but flag.ErrHelp wraps errUsage.
func parse(args []string, stderr io.Writer) (func(context.Context, options) error, options, error) {
	var o options
	if len(args) < 1 {
		return nil, o, fmt.Errorf("%w: %s", errUsage, usage())
	}
	name := args[0]
	i := slices.IndexFunc(modes, func(m mode) bool { return m.name == args[0] })
	if i < 0 {
		return nil, o, fmt.Errorf("%w: unknown mode %q; %s", errUsage, name, usage())
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.api, "api", "http://"+env("TASKFLOW_API_ADDR", "127.0.0.1:8080"), "REST base URL (loopback only)")
	fs.StringVar(&o.secret, "secret", "", "HS256 secret for tokens (default: the one the local stack accepts)")
	fs.StringVar(&o.user, "user", "bench-user", "the user whose tasks are measured")
	fs.IntVar(&o.clients, "clients", 1, "concurrent clients")
	fs.IntVar(&o.requests, "requests", 2000, "requests in all (search, filter)")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "how long to send creates")
	fs.IntVar(&o.tasks, "tasks", 1_000_000, "tasks in the table after seeding")
	fs.IntVar(&o.userTasks, "user-tasks", 100_000, "of which belong to -user")
	fs.StringVar(&o.binDir, "bin", ".cache/bin", "where the built functions are (startup)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed of the data set and queries")
	fs.IntVar(&o.rate, "rate", 100, "creates per second (events, streams, fanout, schedcost)")
	fs.IntVar(&o.streams, "streams", 2000, "open streams in all (fanout)")
	fs.IntVar(&o.users, "users", 200, "users the streams and changes are spread over (fanout)")
	fs.IntVar(&o.perTask, "per-task", 1, "reminders per task, 1..5: with more than one, each task's 12 s apart and all spread evenly over one minute (reminders)")
	fs.IntVar(&o.pid, "pid", 0, "the updates function's process id (fanout; default: found under /proc)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, o, err
		}
		return nil, o, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, o, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if err := loopbackOnly(o.api); err != nil {
		return nil, o, fmt.Errorf("%w: %v", errUsage, err)
	}
	if b, ok := rateBounds[name]; ok && (o.rate < b[0] || o.rate > b[1]) {
		return nil, o, fmt.Errorf("%w: -rate must be %d..%d", errUsage, b[0], b[1])
	}
	if o.clients < 1 {
		return nil, o, fmt.Errorf("%w: -clients must be at least 1", errUsage)
	}
	if o.secret == "" {
		// The secret the local stack accepts, resolved as it resolves it.
		var keys devstack.Secrets
		if err := fn.Load(&keys); err != nil {
			return nil, o, err
		}
		s, err := keys.TokenSecret()
		if err != nil {
			return nil, o, err
		}
		o.secret = s
	}
	return modes[i].run, o, nil
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
