package fn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/store"
)

// Function is what one TaskFlow function offers; Run serves it. It is the
// shape of knative/func's Go templates (a constructor, the handlers, and
// optional Start, Stop and Ready), typed: a function fills in what it offers
// instead of implementing methods looked up at run time. Every part is
// optional.
type Function struct {
	// Routes are the authenticated API routes, reached by both path styles
	// (/api/tasks/... and /api/{user_id}/tasks/...).
	Routes []Route
	// Events handles CloudEvents by type (AnyType: every other type) that a
	// Trigger POSTs to the function's root, binary or structured mode.
	Events map[string]EventHandler
	// Handlers are further handlers by net/http.ServeMux pattern, without
	// authentication (Dapr's job callbacks; the gateway's proxy).
	Handlers map[string]http.Handler
	// Start is background work (publishing the outbox, retrying webhooks,
	// reconciling jobs). It runs while the function serves and returns when
	// ctx ends; an error before then stops the function with exit code 1.
	Start func(ctx context.Context) error
	// Ready reports whether the function can serve (/readyz). The database
	// of a function that has one is checked without it.
	Ready func(ctx context.Context) error
	// Stop releases what the constructor opened, once requests have drained
	// and Start has returned.
	Stop func(ctx context.Context) error
}

// Deps are what the harness made for a function's constructor.
type Deps struct {
	// Store is the function's PostgreSQL: nil unless its config embeds
	// Database. Its events name the function as their source.
	Store *store.Store
	Log   *slog.Logger
	Now   func() time.Time
	// Auth is the function's auth settings (its TASKFLOW_BASE_URL among
	// them) when its config embeds Auth; zero otherwise.
	Auth auth.Config
}

// Constructor builds a function from its loaded config.
type Constructor[C Settings] func(ctx context.Context, cfg C, d *Deps) (*Function, error)

// Routes builds a function's routes from its dependencies.
type Routes func(*Deps) []Route

// Consumers builds a function's CloudEvent handlers by type.
type Consumers func(*Deps) map[string]EventHandler

// WithRoutes is the constructor of a function that only serves API routes.
func WithRoutes(routes Routes) Constructor[*APIConfig] {
	return func(_ context.Context, _ *APIConfig, d *Deps) (*Function, error) {
		return &Function{Routes: routes(d)}, nil
	}
}

// WithEvents is the constructor of a function that only takes CloudEvents.
func WithEvents(handlers Consumers) Constructor[*ConsumerConfig] {
	return func(_ context.Context, _ *ConsumerConfig, d *Deps) (*Function, error) {
		return &Function{Events: handlers(d)}, nil
	}
}

// Run is every function's main: it reads cfg from the environment once,
// logs at its LOG_LEVEL, opens the database when cfg embeds Database, builds
// the function, serves it with health, metrics and traces until SIGTERM or
// SIGINT, drains, and exits: 0 after a clean stop, 1 when the config, the
// start or the function failed.
func Run[C Settings](name string, cfg C, build Constructor[C]) {
	err := Load(cfg)
	log := NewLogger(name, cfg.base().LogLevel)
	if err == nil {
		ctx, stop := SignalContext()
		err = Serve(ctx, name, cfg, build, nil)
		stop()
	}
	Exit(log, err)
}

// Serve runs a function built from a loaded cfg until ctx ends; listening,
// when set, is given the bound address. Run calls it; tests call it to start
// a function in process.
func Serve[C Settings](ctx context.Context, name string, cfg C, build Constructor[C], listening func(net.Addr)) error {
	b := cfg.base()
	log := NewLogger(name, b.LogLevel)
	d := &Deps{Log: log, Now: time.Now}
	if db, ok := any(cfg).(withDatabase); ok {
		st, err := store.Open(ctx, db.database().DatabaseURL, db.database().MaxConns)
		if err != nil {
			return err
		}
		defer st.Close()
		st.Source = events.Source(name)
		d.Store = st
	}
	if a, ok := any(cfg).(withAuth); ok {
		d.Auth = *a.authConfig()
	}
	f, err := build(ctx, cfg, d)
	if err != nil {
		return err
	}
	h, err := f.handler(ctx, cfg, log, d.Store)
	if err != nil {
		return err
	}
	srv := &Server{Name: name, Addr: net.JoinHostPort(b.Host, strconv.Itoa(b.Port)), Handler: h,
		Ready: f.ready(d.Store), Log: log, Listening: listening, Telemetry: b.Config}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := make(chan error, 1)
	if f.Start != nil {
		go func() {
			err := f.Start(ctx)
			if err == nil && ctx.Err() == nil {
				err = errors.New("background work stopped before the function did")
			}
			if ctx.Err() == nil {
				cancel() // stop serving: a function without its background work is broken
			}
			started <- err
		}()
	} else {
		started <- nil
	}
	err = srv.Run(ctx)
	cancel()
	if serr := <-started; serr != nil && !errors.Is(serr, context.Canceled) {
		err = errors.Join(err, fmt.Errorf("background: %w", serr))
	}
	if f.Stop != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		err = errors.Join(err, f.Stop(sctx))
	}
	return err
}

// handler is the function's one ServeMux: its routes behind
// authentication (bearer tokens, and session cookies when the function has
// a store to find sessions in), its events at the root, its other handlers.
func (f *Function) handler(ctx context.Context, cfg any, log *slog.Logger, st *store.Store) (http.Handler, error) {
	m := NewMux(log)
	if len(f.Routes) > 0 {
		a, ok := cfg.(withAuth)
		if !ok {
			return nil, errors.New("a function with routes needs a config that embeds fn.Auth")
		}
		v, err := auth.NewVerifier(ctx, *a.authConfig())
		if err != nil {
			return nil, err
		}
		au := &Authenticator{Tokens: v, Config: *a.authConfig(), Now: time.Now}
		if st != nil {
			au.Sessions = st
		}
		m.api(au, log, f.Routes)
	}
	if f.Events != nil {
		m.Handle("POST /{$}", Events(log, f.Events))
	}
	for pattern, h := range f.Handlers {
		m.Handle(pattern, h)
	}
	return m, nil
}

// ready checks the database, when there is one, then the function's own Ready.
func (f *Function) ready(st *store.Store) func(context.Context) error {
	return func(ctx context.Context) error {
		if st != nil {
			if err := st.Ping(ctx); err != nil {
				return err
			}
		}
		if f.Ready != nil {
			return f.Ready(ctx)
		}
		return nil
	}
}

// Exit logs err and exits 1; nil exits 0.
func Exit(log *slog.Logger, err error) {
	if err != nil {
		log.Error("exit", "error", err)
		os.Exit(1)
	}
	os.Exit(0)
}
