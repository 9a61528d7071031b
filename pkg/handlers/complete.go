package handlers

import (
	"net/http"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/task"
)

// Complete serves PATCH /api/tasks/{id}/complete. Completing a completed task
// answers 200 with it unchanged.
func Complete(d *fn.Deps) []fn.Route {
	return []fn.Route{route(http.MethodPatch, "/api/tasks/{id}/complete", func(w http.ResponseWriter, r *http.Request, user string) error {
		id, ifMatch, err := target(r)
		if err != nil {
			return err
		}
		now := d.Now().UTC()
		t, _, err := d.Store.Update(r.Context(), user, id, ifMatch, func(cur task.Task) (ops.Write, bool, error) {
			w, changed := ops.Complete(cur, now)
			return w, changed, nil
		})
		if err != nil {
			return err
		}
		return writeTask(w, http.StatusOK, t)
	})}
}
