package handlers

import (
	"net/http"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/task"
)

// Page is a list response.
type Page struct {
	Items      []task.Task `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

func listing(d *fn.Deps, search bool) fn.Handler {
	return func(w http.ResponseWriter, r *http.Request, user string) error {
		q, err := task.ParseListQuery(r.URL.Query(), search, d.Now().UTC())
		if err != nil {
			return err
		}
		items, next, err := d.Store.List(r.Context(), user, q)
		if err != nil {
			return err
		}
		p := Page{Items: items}
		if next != nil {
			s := next.Encode()
			p.NextCursor = &s
		}
		return fn.WriteJSON(w, http.StatusOK, p)
	}
}

// List serves GET /api/tasks and GET /api/tasks/filter.
func List(d *fn.Deps) []fn.Route {
	h := listing(d, false)
	return []fn.Route{queryRoute(http.MethodGet, "/api/tasks", h), queryRoute(http.MethodGet, "/api/tasks/filter", h)}
}

// Search serves GET /api/tasks/search?q=...
func Search(d *fn.Deps) []fn.Route {
	return []fn.Route{queryRoute(http.MethodGet, "/api/tasks/search", listing(d, true))}
}
