package fn

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	pathpkg "path"
	"strings"

	"github.com/taskflow/taskflow/pkg/errs"
)

// Route binds a method and a path pattern ("/api/tasks/{id}", in
// net/http.ServeMux's syntax) to a handler.
type Route struct {
	Method  string
	Pattern string
	Handle  Handler
	// Stream marks a long-lived response (server-sent events): no request
	// timeout; it ends when the client leaves or the function stops (Stopping).
	Stream bool
	// ParsesQuery marks a route whose handler reads and validates the query
	// string itself, refusing unknown parameters; the harness refuses any
	// query parameter on every other route.
	ParsesQuery bool
	// Public marks a route served without credentials: its handler gets
	// user "" and checks the request itself (the calendar feed, whose
	// secret URL is its credential). The edge checks still apply.
	Public bool
}

// Handler serves one authenticated request for user. It writes its success
// response itself and returns errors for the harness to map.
type Handler func(w http.ResponseWriter, r *http.Request, user string) error

// Mux is net/http.ServeMux (methods, {wildcards}, the most specific pattern
// wins, 405 with Allow; a GET pattern answers HEAD too) with two additions:
// 404 and 405 answers carry the JSON error body of every other error, and a
// path is matched without its trailing slash and in its /api/tasks/... form
// when it was sent as /api/{user_id}/tasks/... (SplitUserPath).
type Mux struct {
	mux *http.ServeMux
	log *slog.Logger
}

// NewMux returns an empty Mux; log gets the 5xx answers' causes.
func NewMux(log *slog.Logger) *Mux { return &Mux{mux: http.NewServeMux(), log: log} }

// Handle registers h for pattern, as http.ServeMux.Handle does.
func (m *Mux) Handle(pattern string, h http.Handler) { m.mux.Handle(pattern, h) }

type (
	pathUserKey    struct{}
	originalURLKey struct{}
)

// ServeHTTP matches r and serves it, or answers the JSON 404 or 405.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, user := SplitUserPath(r.URL.Path)
	if len(path) > 1 {
		path = strings.TrimRight(path, "/") // a trailing slash is tolerated
		if path == "" {
			path = "/"
		}
	}
	if pathpkg.Clean(path) != path { // an empty or dot segment names nothing here
		WriteError(w, r, m.log, errs.ErrNotFound)
		return
	}
	ctx := r.Context()
	if ctx.Value(originalURLKey{}) == nil { // a Mux behind another keeps the first one's
		ctx = context.WithValue(ctx, originalURLKey{}, r.URL)
	}
	if user != "" {
		ctx = context.WithValue(ctx, pathUserKey{}, user)
	}
	u := *r.URL
	u.Path, u.RawPath = path, ""
	r = r.WithContext(ctx)
	r.URL = &u
	h, pattern := m.mux.Handler(r)
	if _, tree, _ := strings.Cut(pattern, "/"); "/"+tree == path+"/" {
		// Only the subtree /tree/ is registered, and ServeMux redirects
		// /tree to it: a redirect to the path with the slash this Mux
		// trims again, for ever. The subtree's root is matched instead.
		u.Path = path + "/"
		h, pattern = m.mux.Handler(r)
	}
	if pattern == "" {
		var p probe
		h.ServeHTTP(&p, r)
		if p.code == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", p.header.Get("Allow"))
			WriteError(w, r, m.log, errs.ErrMethodNotAllowed)
			return
		}
		WriteError(w, r, m.log, errs.ErrNotFound)
		return
	}
	m.mux.ServeHTTP(w, r)
}

// OriginalURL is the URL r was sent with, before Mux matched it in its
// /api/tasks/... form without a trailing slash (the gateway forwards it
// unchanged).
func OriginalURL(r *http.Request) *url.URL {
	if u, ok := r.Context().Value(originalURLKey{}).(*url.URL); ok {
		return u
	}
	return r.URL
}

// pathUser is the user id of a /api/{user_id}/... path ("" for the other style).
func pathUser(r *http.Request) string {
	u, _ := r.Context().Value(pathUserKey{}).(string)
	return u
}

// probe records what ServeMux's own 404 and 405 handlers answer, so that Mux
// can answer the same status with TaskFlow's body.
type probe struct {
	header http.Header
	code   int
}

func (p *probe) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}
func (p *probe) Write(b []byte) (int, error) { return len(b), nil }
func (p *probe) WriteHeader(code int)        { p.code = code }

// Collections are the resources under /api/; a path /api/{user_id}/<collection>/...
// is the hackathon spec's style of the same route.
var collections = map[string]bool{"tasks": true, "tags": true, "notifications": true, "updates": true, "recurrence": true,
	"settings": true}

// SplitUserPath rewrites /api/{user_id}/tasks/... to /api/tasks/... and
// returns the user id it removed ("" when the path has none).
func SplitUserPath(path string) (string, string) {
	rest, ok := strings.CutPrefix(path, "/api/")
	if !ok {
		return path, ""
	}
	user, tail, ok := strings.Cut(rest, "/")
	if !ok || user == "" || collections[user] {
		return path, ""
	}
	coll, _, _ := strings.Cut(tail, "/")
	if !collections[coll] {
		return path, ""
	}
	return "/api/" + tail, user
}
