package handlers

import (
	"net/http"

	"github.com/taskflow/taskflow/pkg/fn"
)

// MaxHistory bounds one history response.
const MaxHistory = 1000

// History serves GET /api/tasks/{id}/history: the task's audit trail, oldest first.
func History(d *fn.Deps) []fn.Route {
	return []fn.Route{route(http.MethodGet, "/api/tasks/{id}/history", func(w http.ResponseWriter, r *http.Request, user string) error {
		id, err := taskID(r)
		if err != nil {
			return err
		}
		items, err := d.Store.History(r.Context(), user, id, MaxHistory)
		if err != nil {
			return err
		}
		return fn.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
	})}
}
