// Package fn is the harness every TaskFlow function runs in: typed config from
// the environment, structured logs, liveness and readiness, graceful
// shutdown, panic recovery, body limits, authentication and the one mapping
// from errors to HTTP answers. A function's main only names its routes.
package fn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// MaxBody is the largest request body accepted (413 beyond).
const MaxBody = 1 << 20

// Server is an HTTP server with TaskFlow's health endpoints and shutdown.
type Server struct {
	Name    string
	Addr    string
	Handler http.Handler
	// Ready reports whether the function can serve (database reachable, ...).
	Ready func(context.Context) error
	Log   *slog.Logger
	// Listening, if set, receives the bound address once the listener is open.
	Listening func(net.Addr)
	// Telemetry says where traces go.
	Telemetry telemetry.Config
}

// Run serves until ctx ends, then stops accepting, marks itself unready and
// drains in-flight requests for up to 25 seconds.
func (s *Server) Run(ctx context.Context) error {
	flush, err := telemetry.Setup(ctx, s.Name, s.Telemetry)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = flush(fctx)
	}()
	var stopping atomic.Bool
	// wasReady: a readiness failure is worth a warning once, when a ready
	// function stops being ready; probes before the first success (a
	// function waiting for its dependencies at start) and repeated probes
	// during one outage log at debug.
	var wasReady atomic.Bool
	mux := http.NewServeMux()
	mux.Handle("/metrics", telemetry.Handler())
	mux.HandleFunc("/livez", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	ready := func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if stopping.Load() {
			WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "stopping"})
			return
		}
		if s.Ready != nil {
			if err := s.Ready(ctx); err != nil {
				if wasReady.Swap(false) {
					s.Log.WarnContext(ctx, "not ready", "error", err)
				} else {
					s.Log.DebugContext(ctx, "not ready", "error", err)
				}
				WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
				return
			}
		}
		if !wasReady.Swap(true) {
			s.Log.InfoContext(r.Context(), "ready")
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
	mux.HandleFunc("/readyz", ready)
	mux.HandleFunc("/healthz", ready)
	mux.Handle("/", s.Handler)

	// Streams end when shutdown starts, so that draining does not wait on them.
	streamCtx, endStreams := context.WithCancel(context.Background())
	defer endStreams()
	withStop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stoppingKey{}, streamCtx.Done())))
	})
	srv := &http.Server{
		Handler:           instrument(Recover(s.Log, LimitBody(withStop))),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(endStreams)
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.Addr, err)
	}
	if s.Listening != nil {
		s.Listening(ln.Addr())
	}
	s.Log.Info("serving", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stopping.Store(true)
	s.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type stoppingKey struct{}

// Stopping is closed when the function begins to shut down; long-lived
// responses (Route.Stream) end then.
func Stopping(ctx context.Context) <-chan struct{} {
	if c, ok := ctx.Value(stoppingKey{}).(<-chan struct{}); ok {
		return c
	}
	return nil
}

type routeKey struct{}

// routeLabel is the route a request matched, for its latency histogram.
type routeLabel struct{ name string }

// SetRoute names the route r matched (its pattern), for the request metrics
// and the request's span; requests no handler names are counted as "other".
func SetRoute(r *http.Request, name string) {
	if l, ok := r.Context().Value(routeKey{}).(*routeLabel); ok {
		l.name = name
	}
	trace.SpanFromContext(r.Context()).SetName(r.Method + " " + name)
}

// instrument traces every request (continuing the caller's traceparent) and
// records its latency by route, method and status; /metrics itself is not
// counted.
func instrument(next http.Handler) http.Handler {
	return telemetry.HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
		l := &routeLabel{name: "other"}
		switch r.URL.Path {
		case "/livez", "/readyz", "/healthz":
			l.name = r.URL.Path
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		t0 := time.Now()
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), routeKey{}, l)))
		telemetry.ObserveHTTP(l.name, r.Method, sw.status, time.Since(t0))
	}))
}

// statusWriter remembers the status a handler wrote; Unwrap keeps flushing
// (server-sent events) working through http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() { _ = http.NewResponseController(s.ResponseWriter).Flush() }

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Recover turns a panic into a logged 500 instead of a dropped connection.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic", "value", fmt.Sprint(v), "stack", string(debug.Stack()))
				WriteError(w, r, nil, errPanic) // logged just above, with its stack
			}
		}()
		next.ServeHTTP(w, r)
	})
}

var errPanic = errors.New("panic")

// LimitBody caps every request body at MaxBody.
func LimitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBody {
			WriteError(w, r, nil, errs.ErrTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		next.ServeHTTP(w, r)
	})
}

// NewLogger returns a JSON logger at level ("debug", "info", "warn", "error").
func NewLogger(name, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(telemetry.LogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))).With("function", name)
}

// SignalContext ends on SIGINT or SIGTERM (Knative sends SIGTERM on scale-down).
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
