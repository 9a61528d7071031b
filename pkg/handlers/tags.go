package handlers

import (
	"net/http"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/store"
)

// Tags serves GET /api/tags.
func Tags(d *fn.Deps) []fn.Route {
	return []fn.Route{route(http.MethodGet, "/api/tags", func(w http.ResponseWriter, r *http.Request, user string) error {
		tags, err := d.Store.Tags(r.Context(), user)
		if err != nil {
			return err
		}
		if tags == nil {
			tags = []store.Tag{}
		}
		return fn.WriteJSON(w, http.StatusOK, map[string]any{"items": tags})
	})}
}
