package handlers

import (
	"net/http"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/task"
)

// Settings serves GET /api/settings, the user's settings
// ({"timezone": "Europe/Berlin", "all_day_reminder_time": "09:00"}; defaults
// "UTC" and "00:00"), and PATCH /api/settings, which changes the fields sent
// (task.PatchSettings: 400 with every field error for an unknown zone, a time
// not HH:MM, an unknown field; nothing changes then).
func Settings(d *fn.Deps) []fn.Route {
	return []fn.Route{
		route(http.MethodGet, "/api/settings", func(w http.ResponseWriter, r *http.Request, user string) error {
			s, err := d.Store.Settings(r.Context(), user)
			if err != nil {
				return err
			}
			return fn.WriteJSON(w, http.StatusOK, s)
		}),
		route(http.MethodPatch, "/api/settings", func(w http.ResponseWriter, r *http.Request, user string) error {
			body, err := fn.ReadJSON(r)
			if err != nil {
				return err
			}
			if _, err := task.PatchSettings(task.DefaultSettings, body); err != nil {
				return err // bad input never reaches the database
			}
			s, err := d.Store.UpdateSettings(r.Context(), user, func(cur task.Settings) (task.Settings, error) {
				return task.PatchSettings(cur, body)
			})
			if err != nil {
				return err
			}
			return fn.WriteJSON(w, http.StatusOK, s)
		}),
	}
}
