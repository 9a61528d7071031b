package fn

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/task"
)

// Config is what every API function reads from its environment.
type Config struct {
	Port        int    `envconfig:"PORT" default:"8080"`
	Host        string `envconfig:"TASKFLOW_LISTEN_HOST"` // empty: every interface, as Knative needs
	DatabaseURL string `envconfig:"DATABASE_URL" required:"true"`
	MaxConns    int32  `envconfig:"DATABASE_MAX_CONNS" default:"8"`
	LogLevel    string `envconfig:"LOG_LEVEL" default:"info"`
	auth.Config
}

// LoadConfig reads Config from the environment. BETTER_AUTH_SECRET stands in
// for TASKFLOW_AUTH_SECRET when only it is set.
func LoadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return c, err
	}
	if c.Secret == "" {
		c.Secret = os.Getenv("BETTER_AUTH_SECRET")
	}
	return c, nil
}

// Deps are what API handlers use.
type Deps struct {
	Store *store.Store
	Log   *slog.Logger
	Now   func() time.Time
}

// Routes builds a function's routes from its dependencies.
type Routes func(*Deps) []Route

// Consumers builds a consumer function's event handlers by CloudEvent type.
type Consumers func(*Deps) map[string]EventHandler

// Main runs an API function: config, store, auth, routes, serve until SIGTERM.
func Main(name string, routes Routes) { Serve(name, routes, nil) }

// Consume runs a consumer function: CloudEvents from a Trigger, POSTed to /.
func Consume(name string, consumers Consumers) { Serve(name, nil, consumers) }

// Serve runs a function that serves API routes, consumes CloudEvents POSTed
// to /, or both (create takes command events too).
func Serve(name string, routes Routes, consumers Consumers) {
	serve(name, func(ctx context.Context, cfg Config, d *Deps) (http.Handler, error) {
		var api, evs http.Handler
		if routes != nil {
			v, err := auth.NewVerifier(ctx, cfg.Config)
			if err != nil {
				return nil, err
			}
			api = API(v, d.Log, routes(d))
		}
		if consumers != nil {
			evs = Events(d.Log, consumers(d))
		}
		switch {
		case api == nil:
			return evs, nil
		case evs == nil:
			return api, nil
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/" {
				evs.ServeHTTP(w, r)
				return
			}
			api.ServeHTTP(w, r)
		}), nil
	})
}

// ServeWith runs a function whose handler needs more than routes and event
// handlers (the reminder function also takes Dapr's job callbacks).
func ServeWith(name string, handler func(context.Context, Config, *Deps) (http.Handler, error)) {
	serve(name, handler)
}

// serve owns what every function shares: config, logs, the store, signals
// and the server's lifetime.
func serve(name string, handler func(context.Context, Config, *Deps) (http.Handler, error)) {
	log := NewLogger(name, os.Getenv("LOG_LEVEL"))
	ctx, stop := SignalContext()
	defer stop()
	Exit(log, func() error {
		cfg, err := LoadConfig()
		if err != nil {
			return err
		}
		st, err := store.Open(ctx, cfg.DatabaseURL, cfg.MaxConns)
		if err != nil {
			return err
		}
		defer st.Close()
		st.Source = events.Source(name)
		d := &Deps{Store: st, Log: log, Now: time.Now}
		h, err := handler(ctx, cfg, d)
		if err != nil {
			return err
		}
		srv := &Server{Name: name, Addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), Handler: h, Ready: st.Ping, Log: log}
		return srv.Run(ctx)
	}())
}

// API serves routes behind authentication. Both path styles reach the same
// route; in /api/{user_id}/..., a user id other than the token's is 403.
func API(v *auth.Verifier, log *slog.Logger, routes []Route) http.Handler {
	rt := NewRouter(routes)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, pathUser := SplitUserPath(r.URL.Path)
		r.URL.Path, r.URL.RawPath = path, ""
		route, allowed := rt.Match(r)
		if route == nil {
			if len(allowed) > 0 {
				w.Header().Set("Allow", strings.Join(allowed, ", "))
				WriteError(w, r, log, errMethod)
				return
			}
			WriteError(w, r, log, errs.ErrNotFound)
			return
		}
		SetRoute(r, route.Pattern)
		user, err := authenticate(v, r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="taskflow"`)
			WriteError(w, r, log, err)
			return
		}
		if pathUser != "" && pathUser != user {
			WriteError(w, r, log, fmt.Errorf("%w: the path's user id is not the token's", errs.ErrForbidden))
			return
		}
		if err := checkEdge(r, route); err != nil {
			WriteError(w, r, log, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		if route.Stream {
			ctx, cancel = context.WithCancel(r.Context())
		}
		defer cancel()
		if err := route.Handle(w, r.WithContext(ctx), user); err != nil {
			WriteError(w, r, log, err)
		}
	})
}

// authenticate verifies the request's one Authorization header. Two of them
// are refused rather than the first believed: proxies and clients disagree
// on which one counts.
func authenticate(v *auth.Verifier, r *http.Request) (string, error) {
	if len(r.Header.Values("Authorization")) > 1 {
		return "", fmt.Errorf("%w: more than one Authorization header", errs.ErrUnauthenticated)
	}
	return v.Verify(r.Header.Get("Authorization"))
}

// textHeaders are the request headers handlers read as text.
var textHeaders = []string{"Idempotency-Key", "If-Match", "Last-Event-ID"}

// checkEdge refuses, before any handler runs, what no handler could store or
// should silently ignore: a query string that is not valid URL encoding,
// query parameters a route does not take, and NUL or invalid UTF-8 in query
// parameters and text headers. Every problem is listed under the parameter's
// or header's name.
func checkEdge(r *http.Request, route *Route) error {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errs.Invalidf("the query string is not valid URL encoding")
	}
	fe := errs.FieldErrors{}
	for name, vals := range query {
		if msg := task.TextProblem(name); msg != "" {
			fe.Add(name, "the parameter's name "+msg)
		}
		for _, v := range vals {
			if msg := task.TextProblem(v); msg != "" {
				fe.Add(name, msg)
			}
		}
		if !route.ParsesQuery {
			fe.Add(name, "unknown query parameter")
		}
	}
	for _, h := range textHeaders {
		vals := r.Header.Values(h)
		for _, v := range vals {
			if msg := task.TextProblem(v); msg != "" {
				fe.Add(h, msg)
			}
		}
		// If-Match is a list (RFC 9110 §13.1.1); the others name one thing,
		// and a second copy would leave which one counts to chance.
		if len(vals) > 1 && h != "If-Match" {
			fe.Add(h, "must be sent once")
		}
	}
	return fe.Err()
}

// ReadJSON reads a JSON request body of at most MaxBody bytes. The body must
// be declared application/json (or a +json type): 415 otherwise, also when
// no Content-Type is sent.
func ReadJSON(r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, errs.ErrUnsupportedMedia
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := err.(*http.MaxBytesError); ok {
			return nil, errs.ErrTooLarge
		}
		return nil, errs.Invalidf("could not read request body")
	}
	return body, nil
}

// ETag renders a version as an entity tag.
func ETag(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

// IfMatch parses an If-Match header into the version it requires (0: none).
func IfMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	h = strings.TrimPrefix(h, "W/")
	n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(h, `"v`), `"`), 10, 64)
	if err != nil || n < 1 {
		return 0, errs.ErrPrecondition
	}
	return n, nil
}
