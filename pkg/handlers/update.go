package handlers

import (
	"net/http"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/task"
)

// Update serves PUT (replace the editable fields) and PATCH (change only the
// fields sent) on /api/tasks/{id}. If-Match makes either conditional.
func Update(d *fn.Deps) []fn.Route {
	handle := func(replace bool) fn.Handler {
		return func(w http.ResponseWriter, r *http.Request, user string) error {
			id, ifMatch, err := target(r)
			if err != nil {
				return err
			}
			body, err := fn.ReadJSON(r)
			if err != nil {
				return err
			}
			in, ok, perr := task.ParseInput(body)
			if !ok {
				return perr
			}
			if err := ops.Place(&in, func() (task.Settings, error) { return d.Store.Settings(r.Context(), user) }); err != nil {
				return err
			}
			now := d.Now().UTC()
			t, _, err := d.Store.Update(r.Context(), user, id, ifMatch, func(cur task.Task) (ops.Write, bool, error) {
				apply := ops.Patch
				if replace {
					apply = ops.Replace
				}
				w, changed, err := apply(cur, in, now)
				// A body with bad fields changes nothing, but still reports
				// what validation finds in the rest of it.
				return w, changed, errs.Merge(perr, err)
			})
			if err != nil {
				return err
			}
			return writeTask(w, http.StatusOK, t)
		}
	}
	return []fn.Route{
		route(http.MethodPut, "/api/tasks/{id}", handle(true)),
		route(http.MethodPatch, "/api/tasks/{id}", handle(false)),
	}
}
