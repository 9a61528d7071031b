package handlers

import (
	"net/http"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/task"
)

// Complete serves PATCH /api/tasks/{id}/complete and what else finishes an
// occurrence: POST /api/tasks/{id}/skip and POST /api/tasks/{id}/end-series.
// Each answers 200 with the task; If-Match makes it conditional.
//
//   - complete: completing a completed task answers it unchanged.
//   - skip: the occurrence of a series becomes skipped (not completed) and its
//     successor is made as if it had been completed now; skipping a skipped
//     task answers it unchanged, with no second event. A task that does not
//     recur, or is completed: 409.
//   - end-series: the active occurrence stops recurring, so no successor
//     follows it; 409 for a task that does not recur or is not active.
func Complete(d *fn.Deps) []fn.Route {
	step := func(apply store.Step) fn.Handler {
		return func(w http.ResponseWriter, r *http.Request, user string) error {
			id, ifMatch, err := target(r)
			if err != nil {
				return err
			}
			t, _, err := d.Store.Update(r.Context(), user, id, ifMatch, apply)
			if err != nil {
				return err
			}
			return writeTask(w, http.StatusOK, t)
		}
	}
	return []fn.Route{
		route(http.MethodPatch, "/api/tasks/{id}/complete", func(w http.ResponseWriter, r *http.Request, user string) error {
			now := d.Now().UTC()
			return step(func(cur task.Task) (ops.Write, bool, error) {
				w, changed := ops.Complete(cur, now)
				return w, changed, nil
			})(w, r, user)
		}),
		route(http.MethodPost, "/api/tasks/{id}/skip", func(w http.ResponseWriter, r *http.Request, user string) error {
			now := d.Now().UTC()
			return step(func(cur task.Task) (ops.Write, bool, error) { return ops.Skip(cur, now) })(w, r, user)
		}),
		route(http.MethodPost, "/api/tasks/{id}/end-series", func(w http.ResponseWriter, r *http.Request, user string) error {
			now := d.Now().UTC()
			return step(func(cur task.Task) (ops.Write, bool, error) {
				w, err := ops.EndSeries(cur, now)
				return w, err == nil, err
			})(w, r, user)
		}),
	}
}
