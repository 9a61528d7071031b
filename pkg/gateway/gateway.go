// Package gateway is the one REST base URL: it routes each API.md path to the
// function that serves it, as the cluster's routing rule does, and answers
// /healthz for the whole set.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
	"github.com/taskflow/taskflow/pkg/openapi"
)

// Config lists each function's base URL as name=url pairs.
type Config struct {
	Port      int      `envconfig:"PORT" default:"8080"`
	Host      string   `envconfig:"TASKFLOW_LISTEN_HOST"`
	Upstreams []string `envconfig:"TASKFLOW_UPSTREAMS" required:"true"`
	// HealthURLs are further readiness endpoints /healthz includes (the broker).
	HealthURLs []string `envconfig:"TASKFLOW_HEALTH_URLS"`
	LogLevel   string   `envconfig:"LOG_LEVEL" default:"info"`
}

// Gateway proxies API requests to functions.
type Gateway struct {
	router    *fn.Router
	owner     map[string]string // "METHOD pattern" -> function name
	upstreams map[string]*url.URL
	proxies   map[string]*httputil.ReverseProxy
	client    *http.Client
	log       *slog.Logger
	// Checks are extra readiness checks (database, broker, Dapr) by name.
	Checks map[string]func(context.Context) error
}

// New builds a gateway for "name=url" upstreams; every function in
// handlers.Functions must have one.
func New(upstreams []string, log *slog.Logger) (*Gateway, error) {
	g := &Gateway{upstreams: map[string]*url.URL{}, proxies: map[string]*httputil.ReverseProxy{}, log: log,
		owner:  map[string]string{},
		Checks: map[string]func(context.Context) error{}}
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	g.client = &http.Client{Transport: transport, Timeout: 2 * time.Second}
	for _, kv := range upstreams {
		name, raw, ok := strings.Cut(strings.TrimSpace(kv), "=")
		u, err := url.Parse(raw)
		if !ok || err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("upstream %q: want name=http://host:port", kv)
		}
		g.upstreams[name] = u
		g.checkURL(name, u.JoinPath("/readyz").String())
	}
	var routes []fn.Route
	names := make([]string, 0, len(handlers.Functions))
	for name := range handlers.Functions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		u, ok := g.upstreams[name]
		if !ok {
			return nil, fmt.Errorf("no upstream for function %s", name)
		}
		p := httputil.NewSingleHostReverseProxy(u)
		// The function's spans are children of the gateway's (W3C traceparent).
		p.Transport = otelhttp.NewTransport(transport)
		p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			fn.WriteError(w, r, log, fmt.Errorf("%w: function %s: %w", errs.ErrUnavailable, name, err))
		}
		g.proxies[name] = p
		for _, rt := range handlers.Functions[name](nil) {
			routes = append(routes, rt)
			g.owner[rt.Method+" "+rt.Pattern] = name
		}
	}
	g.router = fn.NewRouter(routes)
	return g, nil
}

// ServeHTTP routes r by its normalised path and forwards it unchanged.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == openapi.Path {
		fn.SetRoute(r, openapi.Path)
		openapi.Handler().ServeHTTP(w, r)
		return
	}
	probe := r.Clone(r.Context())
	probe.URL.Path, _ = fn.SplitUserPath(r.URL.Path)
	route, allowed := g.router.Match(probe)
	if route == nil {
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			fn.WriteJSON(w, http.StatusMethodNotAllowed, fn.ErrorBody{Error: fn.ErrorDetail{Code: "method_not_allowed", Message: "method not allowed on this path"}})
			return
		}
		fn.WriteError(w, r, g.log, errs.ErrNotFound)
		return
	}
	fn.SetRoute(r, route.Pattern)
	g.proxies[g.owner[route.Method+" "+route.Pattern]].ServeHTTP(w, r)
}

// CheckURL adds a readiness endpoint that must answer 200.
func (g *Gateway) CheckURL(url string) { g.checkURL(url, url) }

func (g *Gateway) checkURL(name, url string) {
	g.Checks[name] = func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := g.client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("answered %d", resp.StatusCode)
		}
		return nil
	}
}

// Ready runs every readiness check (each function's /readyz and any extra
// URL) concurrently.
func (g *Gateway) Ready(ctx context.Context) error {
	var (
		mu       sync.Mutex
		failures []string
		wg       sync.WaitGroup
	)
	fail := func(name string, err error) {
		mu.Lock()
		failures = append(failures, name+": "+err.Error())
		mu.Unlock()
	}
	for name, check := range g.Checks {
		wg.Go(func() {
			if err := check(ctx); err != nil {
				fail(name, err)
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		sort.Strings(failures)
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}
