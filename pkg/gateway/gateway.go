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
	"github.com/taskflow/taskflow/pkg/web"
)

// Config is the gateway's environment: each function's base URL as
// name=url pairs.
type Config struct {
	fn.Base
	Upstreams []string `envconfig:"TASKFLOW_UPSTREAMS" required:"true" desc:"each function's base URL as name=url pairs (create=http://create.taskflow.svc, ...)"`
	// HealthURLs are further readiness endpoints /healthz includes (the broker).
	HealthURLs []string `envconfig:"TASKFLOW_HEALTH_URLS" desc:"further URLs that must answer 2xx for the gateway to be ready (the Broker's)"`
}

// Function is the gateway as a function: every path goes to its proxy.
func Function(_ context.Context, cfg *Config, d *fn.Deps) (*fn.Function, error) {
	g, err := New(cfg.Upstreams, d.Log)
	if err != nil {
		return nil, err
	}
	for _, u := range cfg.HealthURLs {
		g.CheckURL(u)
	}
	return &fn.Function{Handlers: map[string]http.Handler{"/": g}, Ready: g.Ready}, nil
}

// Gateway proxies API requests to functions.
type Gateway struct {
	mux       *fn.Mux
	upstreams map[string]*url.URL
	proxies   map[string]*httputil.ReverseProxy
	client    *http.Client
	transport *http.Transport
	log       *slog.Logger
	// Checks are extra readiness checks (database, broker, Dapr) by name.
	Checks map[string]func(context.Context) error
}

// New builds a gateway for "name=url" upstreams; every function in
// handlers.Functions must have one.
func New(upstreams []string, log *slog.Logger) (*Gateway, error) {
	g := &Gateway{upstreams: map[string]*url.URL{}, proxies: map[string]*httputil.ReverseProxy{}, log: log,
		Checks: map[string]func(context.Context) error{}}
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	g.client = &http.Client{Transport: transport, Timeout: 2 * time.Second}
	g.transport = transport
	for _, kv := range upstreams {
		name, raw, ok := strings.Cut(strings.TrimSpace(kv), "=")
		u, err := url.Parse(raw)
		if !ok || err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("upstream %q: want name=http://host:port", kv)
		}
		g.upstreams[name] = u
		g.checkURL(name, u.JoinPath("/readyz").String())
	}
	g.mux = fn.NewMux(log)
	g.mux.Handle("GET "+openapi.Path, named(openapi.Path, openapi.Handler()))
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
		p := g.proxy(name, u)
		for _, rt := range handlers.Functions[name](nil) {
			g.mux.Handle(rt.Method+" "+rt.Pattern, named(rt.Pattern, forward(p)))
		}
	}
	// TaskFlow's own accounts, when deployed, serve every path under
	// /api/auth/ (Better Auth's protocol: API.md §2 Accounts).
	if u, ok := g.upstreams[AccountsFunction]; ok {
		g.mux.Handle(AccountsPrefix, named(AccountsPrefix, forward(g.proxy(AccountsFunction, u))))
	}
	// The web app, when deployed: the page at / and its assets. An
	// API-only deployment leaves it out and / answers 404.
	if u, ok := g.upstreams[WebFunction]; ok {
		p := forward(g.proxy(WebFunction, u))
		g.mux.Handle("GET /{$}", named("/", p))
		g.mux.Handle("GET "+web.AssetPrefix, named(web.AssetPrefix, p))
	}
	// The MCP server, when deployed: /mcp and its protected resource
	// metadata (API.md §8).
	if u, ok := g.upstreams[MCPFunction]; ok {
		p := forward(g.proxy(MCPFunction, u))
		for _, path := range MCPPaths {
			g.mux.Handle(path, named(path, p))
		}
	}
	return g, nil
}

// proxy is the reverse proxy to function name at u: the function's spans
// are children of the gateway's (W3C traceparent), and a function that does
// not answer is a 503 the client may retry.
func (g *Gateway) proxy(name string, u *url.URL) *httputil.ReverseProxy {
	p := httputil.NewSingleHostReverseProxy(u)
	p.Transport = otelhttp.NewTransport(g.transport)
	p.BufferPool = copyBuffers
	p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		fn.WriteError(w, r, g.log, errs.Wrap(errs.ErrUnavailable, "function "+name, err))
	}
	g.proxies[name] = p
	return p
}

// copyBuffers lends the proxies the 32 KiB buffers they copy bodies with:
// without a pool each proxied request allocates one.
var copyBuffers httputil.BufferPool = bufferPool{&sync.Pool{New: func() any { return new([32 << 10]byte) }}}

type bufferPool struct{ p *sync.Pool }

func (b bufferPool) Get() []byte { return b.p.Get().(*[32 << 10]byte)[:] }
func (b bufferPool) Put(v []byte) {
	if len(v) == 32<<10 {
		b.p.Put((*[32 << 10]byte)(v))
	}
}

// The web function.
const WebFunction = "web"

// The MCP function and the paths it serves.
const MCPFunction = "mcp"

// MCPPaths are the paths the gateway forwards to the MCP function.
var MCPPaths = []string{"/mcp", "/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"}

// The accounts function and the path prefix it serves.
const (
	AccountsFunction = "accounts"
	AccountsPrefix   = "/api/auth/"
)

// named labels a request's metrics and span with the route it matched.
func named(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn.SetRoute(r, route)
		h.ServeHTTP(w, r)
	})
}

// forward sends r to the function unchanged: with the path it was sent with,
// which the function matches again (and checks a path's user id against
// the token's).
func forward(p *httputil.ReverseProxy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL = fn.OriginalURL(r)
		p.ServeHTTP(w, r)
	})
}

// ServeHTTP routes r by its normalised path and forwards it unchanged; an
// unknown path is a 404 and a known one with another method a 405, from
// the gateway itself.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.mux.ServeHTTP(w, r) }

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
