package handlers

import (
	"net/http"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/task"
)

// Delete serves DELETE /api/tasks/{id}: 204, or 404 when there is no such task.
func Delete(d *fn.Deps) []fn.Route {
	return []fn.Route{route(http.MethodDelete, "/api/tasks/{id}", func(w http.ResponseWriter, r *http.Request, user string) error {
		id, ifMatch, err := target(r)
		if err != nil {
			return err
		}
		now := d.Now().UTC()
		_, err = d.Store.Delete(r.Context(), user, id, ifMatch, func(cur task.Task) ops.Write { return ops.Delete(cur, now) })
		if err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})}
}
