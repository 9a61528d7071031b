// Package mcpserver is the mcp function: a Model Context Protocol server at
// /mcp (Streamable HTTP) through which AI agents use TaskFlow (API.md §8). It
// is a client of nothing: its tools run the same domain steps (pkg/ops) and
// store (pkg/store) as the REST handlers, so a tool answers what the
// endpoint it mirrors answers, errors included (the API's error body as the
// text of a tool error).
//
// Authorization is the API's: a bearer token checked by the same verifier
// (pkg/auth), through the MCP SDK's RequireBearerToken; without one, 401
// with WWW-Authenticate naming the protected resource metadata (RFC 9728)
// served at /.well-known/oauth-protected-resource. Each user has an MCP
// server of their own on a replica (the SDK's sessions are bound to the
// token's user), so a resource-updated notification only ever reaches that
// user's sessions.
package mcpserver

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/updates"
)

// Paths the function serves (the gateway routes them here).
const (
	Path         = "/mcp"
	MetadataPath = "/.well-known/oauth-protected-resource"
)

// Config is the mcp function's environment: its database, its tokens' keys
// and the Kafka cluster whose task-updates drive resource subscriptions.
type Config struct {
	fn.Base
	fn.Database
	fn.Auth
	kafka.Config
}

// SessionTimeout closes a session no request has used for this long.
const SessionTimeout = 30 * time.Minute

// Function is the mcp function.
func Function(ctx context.Context, cfg *Config, d *fn.Deps) (*fn.Function, error) {
	v, err := auth.NewVerifier(ctx, cfg.Auth.Config)
	if err != nil {
		return nil, err
	}
	live, err := updates.New(cfg.Brokers).WithAuth(cfg.Config.Auth)
	if err != nil {
		return nil, err
	}
	s := New(d, v, cfg.Auth.Config, live)
	return &fn.Function{Handlers: s.Handlers(), Start: s.Run, Ready: s.live.Ready, Stop: s.Stop}, nil
}

// Server is TaskFlow's MCP server on one replica.
type Server struct {
	d      *fn.Deps
	verify *auth.Verifier
	auth   auth.Config
	live   *updates.Stream
	http   http.Handler

	ctx    context.Context // ends at Stop: the users' watches
	cancel context.CancelFunc
	mu     sync.Mutex
	users  map[string]*user
}

// New builds the server; live is the replica's reader of task-updates (Run
// runs it).
func New(d *fn.Deps, v *auth.Verifier, ac auth.Config, live *updates.Stream) *Server {
	s := &Server{d: d, verify: v, auth: ac, live: live, users: map[string]*user{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.http = mcp.NewStreamableHTTPHandler(s.serverFor, &mcp.StreamableHTTPOptions{
		// Tool results as one JSON response; notifications go to the GET stream.
		JSONResponse:   true,
		SessionTimeout: SessionTimeout,
		// Every request carries a bearer token, which a page in a browser
		// cannot add by DNS rebinding; and behind Knative's queue-proxy every
		// request arrives from localhost with the public Host.
		DisableLocalhostProtection: true,
		Logger:                     d.Log,
	})
	return s
}

// Handlers are the function's routes: /mcp behind bearer authentication
// and the metadata that tells a client how to get a token.
func (s *Server) Handlers() map[string]http.Handler {
	meta := http.HandlerFunc(s.metadata)
	return map[string]http.Handler{
		Path:                             http.HandlerFunc(s.serveMCP),
		"GET " + MetadataPath:            meta,
		"GET " + MetadataPath + Path:     meta, // RFC 9728 §3.1: the resource's path appended
		"OPTIONS " + MetadataPath:        meta,
		"OPTIONS " + MetadataPath + Path: meta,
	}
}

// Run reads task-updates until ctx ends, and closes idle users' servers.
func (s *Server) Run(ctx context.Context) error {
	go s.sweep(ctx)
	return s.live.Run(ctx)
}

// Stop ends every user's watch.
func (s *Server) Stop(context.Context) error {
	s.cancel()
	return nil
}

// metadata serves the protected resource metadata (RFC 9728): the resource
// is /mcp on TaskFlow's base URL and its authorization server is TaskFlow
// itself, whose accounts issue the tokens (iss = the base URL).
func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	base := s.auth.BaseURLFor(r)
	sdkauth.ProtectedResourceMetadataHandler(&oauthex.ProtectedResourceMetadata{
		Resource:               base + Path,
		AuthorizationServers:   []string{base},
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "TaskFlow",
		ResourceDocumentation:  base + "/api/openapi.json",
	}).ServeHTTP(w, r)
}

// serveMCP checks the bearer token with the SDK's middleware and TaskFlow's
// verifier, then serves the MCP request. A refused token gets the API's
// JSON error body beside the SDK's WWW-Authenticate header.
func (s *Server) serveMCP(w http.ResponseWriter, r *http.Request) {
	fn.SetRoute(r, Path)
	var (
		reason  error
		reached bool
	)
	verifier := func(_ context.Context, token string, r *http.Request) (*sdkauth.TokenInfo, error) {
		if len(r.Header.Values("Authorization")) > 1 {
			reason = errs.With(errs.ErrUnauthenticated, "more than one Authorization header")
			return nil, sdkauth.ErrInvalidToken
		}
		user, exp, err := s.verify.VerifyExpiry("Bearer " + token)
		if err != nil {
			reason = err
			return nil, sdkauth.ErrInvalidToken
		}
		return &sdkauth.TokenInfo{UserID: user, Expiration: exp}, nil
	}
	next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		reached = true
		s.http.ServeHTTP(w, r)
	})
	mw := sdkauth.RequireBearerToken(verifier, &sdkauth.RequireBearerTokenOptions{
		ResourceMetadataURL: s.auth.BaseURLFor(r) + MetadataPath + Path,
		ClockSkew:           auth.Leeway, // the verifier has applied it already
	})
	mw(next).ServeHTTP(&refusal{ResponseWriter: w, r: r, reached: &reached, reason: &reason, log: s.d}, r)
}

// refusal writes the SDK's refusal of a token as the API's error body.
type refusal struct {
	http.ResponseWriter
	r       *http.Request
	reached *bool
	reason  *error
	log     *fn.Deps
	written bool
}

func (f *refusal) WriteHeader(code int) {
	if *f.reached || f.written {
		return
	}
	f.written = true
	err := *f.reason
	if err == nil || !errors.Is(err, errs.ErrUnauthenticated) {
		err = errs.With(errs.ErrUnauthenticated, "missing bearer token")
	}
	if code == http.StatusForbidden {
		err = errs.ErrForbidden
	}
	f.ResponseWriter.Header().Del("Content-Type")
	f.ResponseWriter.Header().Del("Content-Length")
	fn.WriteError(f.ResponseWriter, f.r, f.log.Log, err)
}

// Write drops the SDK's plain-text refusal; WriteError wrote the body.
func (f *refusal) Write(b []byte) (int, error) {
	if !f.written {
		f.WriteHeader(http.StatusUnauthorized)
	}
	return len(b), nil
}

// user is one user's MCP server on this replica and the watch of their
// changes that its resource subscriptions need.
type user struct {
	id       string
	srv      *mcp.Server
	lastUsed time.Time
	uris     map[string]bool // subscribed to at some time on this server
	watching bool
	cancel   context.CancelFunc
}

// serverFor is the MCP server of the request's user (the token's), made on
// first use.
func (s *Server) serverFor(r *http.Request) *mcp.Server {
	ti := sdkauth.TokenInfoFromContext(r.Context())
	if ti == nil {
		return nil // unreachable: RequireBearerToken ran first
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[ti.UserID]
	if u == nil {
		ctx, cancel := context.WithCancel(s.ctx)
		u = &user{id: ti.UserID, uris: map[string]bool{}, cancel: cancel}
		u.srv = s.newServer(ctx, u)
		s.users[ti.UserID] = u
	}
	u.lastUsed = s.d.Now()
	return u.srv
}

// idleServer is how long a user's server without sessions is kept.
const idleServer = 5 * time.Minute

// sweep drops the servers of users without sessions, idle for idleServer.
func (s *Server) sweep(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		for id, u := range s.users {
			if s.d.Now().Sub(u.lastUsed) < idleServer {
				continue
			}
			open := false
			for range u.srv.Sessions() {
				open = true
				break
			}
			if !open {
				u.cancel()
				delete(s.users, id)
			}
		}
		s.mu.Unlock()
	}
}

// newServer is one user's MCP server: the tools and the resources.
func (s *Server) newServer(ctx context.Context, u *user) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "taskflow", Title: "TaskFlow", Version: "1.0.0"}, &mcp.ServerOptions{
		Instructions: instructions,
		Logger:       s.d.Log,
		Capabilities: &mcp.ServerCapabilities{
			Tools:     &mcp.ToolCapabilities{},
			Resources: &mcp.ResourceCapabilities{Subscribe: true},
		},
		SubscribeHandler: func(_ context.Context, req *mcp.SubscribeRequest) error {
			if _, _, err := parseResource(req.Params.URI); err != nil {
				return err
			}
			s.subscribed(ctx, u, req.Params.URI)
			return nil
		},
		UnsubscribeHandler: func(context.Context, *mcp.UnsubscribeRequest) error { return nil },
	})
	for _, t := range s.tools() {
		srv.AddTool(t.tool, s.handle(t))
	}
	s.addResources(srv)
	return srv
}

const instructions = `TaskFlow is the user's task list. Tools act on the tasks of the user whose token you hold ` +
	`(no tool takes a user id). Dates are RFC 3339 instants; every date in a result is also given as local ` +
	`wall-clock time with weekday and zone (the "timezone" argument, else the task's recurrence timezone, else UTC). ` +
	`Use idempotency_key on add_task/add_tasks so a retry creates nothing twice. Errors come back as tool errors ` +
	`whose text is {"error":{"code","message","fields"}}. Resources taskflow://tasks/today and ` +
	`taskflow://tasks/overdue can be subscribed to.`
