package fn

import (
	"net/http"
	"sort"
	"strings"
)

// Route binds a method and a path pattern ("/api/tasks/{id}") to a handler.
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
}

// Handler serves one authenticated request for user. It writes its success
// response itself and returns errors for the harness to map.
type Handler func(w http.ResponseWriter, r *http.Request, user string) error

type compiled struct {
	Route
	segs     []string
	literals int
}

// Router matches paths segment by segment: a literal segment beats a
// {wildcard}, so /api/tasks/search wins over /api/tasks/{id}.
type Router struct{ routes []compiled }

// NewRouter compiles routes.
func NewRouter(routes []Route) *Router {
	rt := &Router{}
	for _, r := range routes {
		c := compiled{Route: r, segs: strings.Split(strings.Trim(r.Pattern, "/"), "/")}
		for _, s := range c.segs {
			if !isWild(s) {
				c.literals++
			}
		}
		rt.routes = append(rt.routes, c)
	}
	sort.SliceStable(rt.routes, func(i, j int) bool { return rt.routes[i].literals > rt.routes[j].literals })
	return rt
}

func isWild(s string) bool { return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") }

// Match finds the route for method and path, setting path values on r. It
// returns allowed methods when the path exists but not for this method.
func (rt *Router) Match(r *http.Request) (*Route, []string) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var allowed []string
	top := -1 // literal count of the most specific pattern that matched the path
	for i := range rt.routes {
		c := &rt.routes[i]
		if !c.matches(segs) {
			continue
		}
		if top >= 0 && c.literals < top {
			break
		}
		top = c.literals
		if c.Method != r.Method {
			allowed = append(allowed, c.Method)
			continue
		}
		for j, s := range c.segs {
			if isWild(s) {
				r.SetPathValue(s[1:len(s)-1], segs[j])
			}
		}
		return &c.Route, nil
	}
	return nil, allowed
}

func (c *compiled) matches(segs []string) bool {
	if len(segs) != len(c.segs) {
		return false
	}
	for i, s := range c.segs {
		if segs[i] == "" || (!isWild(s) && s != segs[i]) {
			return false
		}
	}
	return true
}

// Collections are the resources under /api/; a path /api/{user_id}/<collection>/...
// is the hackathon spec's style of the same route.
var collections = map[string]bool{"tasks": true, "tags": true, "notifications": true, "updates": true}

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
