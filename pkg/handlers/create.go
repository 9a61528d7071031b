package handlers

import (
	"crypto/sha256"
	"net/http"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/task"
)

// MaxIdempotencyKey bounds the Idempotency-Key header.
const MaxIdempotencyKey = 255

// Create serves POST /api/tasks.
func Create(d *fn.Deps) []fn.Route {
	return []fn.Route{route(http.MethodPost, "/api/tasks", func(w http.ResponseWriter, r *http.Request, user string) error {
		body, err := fn.ReadJSON(r)
		if err != nil {
			return err
		}
		var idem *store.Idempotency
		if key := r.Header.Get("Idempotency-Key"); key != "" {
			if len(key) > MaxIdempotencyKey {
				return errs.InvalidField("Idempotency-Key", "must be at most 255 characters")
			}
			sum := sha256.Sum256(body)
			idem = &store.Idempotency{Key: key, Hash: sum[:]}
		}
		write, err := ops.CreateWith(user, body, d.Now().UTC(), func() (task.Settings, error) {
			return d.Store.Settings(r.Context(), user)
		})
		if err != nil {
			return err
		}
		created, replay, err := d.Store.Create(r.Context(), write, idem)
		if err != nil {
			return err
		}
		if replay != nil {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.WriteHeader(http.StatusCreated)
			_, err = w.Write(append(replay, '\n')) // as WriteJSON ends every body
			return err
		}
		return writeTask(w, http.StatusCreated, created, "Location", "/api/tasks/"+created.ID)
	})}
}
