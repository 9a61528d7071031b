package handlers

import (
	"net/http"

	"github.com/taskflow/taskflow/pkg/fn"
)

// Get serves GET /api/tasks/{id}.
func Get(d *fn.Deps) []fn.Route {
	return []fn.Route{route(http.MethodGet, "/api/tasks/{id}", func(w http.ResponseWriter, r *http.Request, user string) error {
		id, err := taskID(r)
		if err != nil {
			return err
		}
		t, err := d.Store.Get(r.Context(), user, id)
		if err != nil {
			return err
		}
		return writeTask(w, http.StatusOK, t)
	})}
}
