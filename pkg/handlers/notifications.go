package handlers

import (
	"encoding/json"
	"net/http"

	"github.com/google/uuid"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/task"
)

// Notifications serves GET /api/notifications (newest first, keyset pages)
// PATCH /api/notifications/{id} with {"read": true|false}, and
// POST /api/notifications/{id}/snooze (task.ParseSnooze) → the notification
// with snoozed_until; 409 when its task is deleted or no longer active.
func Notifications(d *fn.Deps) []fn.Route {
	list := func(w http.ResponseWriter, r *http.Request, user string) error {
		limit, after, err := task.ParsePage(r.URL.Query(), task.SortDelivered)
		if err != nil {
			return err
		}
		items, next, err := d.Store.Notifications(r.Context(), user, limit, after)
		if err != nil {
			return err
		}
		if items == nil {
			items = []events.Notification{}
		}
		var cursor *string
		if next != nil {
			c := next.Encode()
			cursor = &c
		}
		return fn.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": cursor})
	}
	mark := func(w http.ResponseWriter, r *http.Request, user string) error {
		id, body, err := notificationBody(r)
		if err != nil {
			return err
		}
		var in map[string]json.RawMessage
		if json.Unmarshal(body, &in) != nil || in == nil {
			return errs.Invalidf(`request body must be the JSON object {"read": true|false}`)
		}
		fe := task.JSONProblems(body) // a key given twice, NUL, invalid UTF-8
		var read bool
		raw, ok := in["read"]
		if !ok || json.Unmarshal(raw, &read) != nil {
			fe.Add("read", "is required: true or false")
		}
		for k := range in {
			if k != "read" {
				fe.Add(k, "unknown field")
			}
		}
		if err := fe.Err(); err != nil {
			return err
		}
		n, err := d.Store.MarkRead(r.Context(), user, id, read)
		if err != nil {
			return err
		}
		return fn.WriteJSON(w, http.StatusOK, n)
	}
	snooze := func(w http.ResponseWriter, r *http.Request, user string) error {
		id, body, err := notificationBody(r)
		if err != nil {
			return err
		}
		until, err := task.ParseSnooze(body, d.Now())
		if err != nil {
			return err
		}
		n, err := d.Store.Snooze(r.Context(), user, id, until)
		if err != nil {
			return err
		}
		return fn.WriteJSON(w, http.StatusOK, n)
	}
	return []fn.Route{
		queryRoute(http.MethodGet, "/api/notifications", list),
		route(http.MethodPatch, "/api/notifications/{id}", mark),
		route(http.MethodPost, "/api/notifications/{id}/snooze", snooze),
	}
}

// notificationBody is the notification id of r's path and r's JSON body: an
// id that is not a UUID is no notification (404).
func notificationBody(r *http.Request) (string, []byte, error) {
	id := r.PathValue("id")
	if uuid.Validate(id) != nil {
		return "", nil, errs.ErrNotFound
	}
	body, err := fn.ReadJSON(r)
	return id, body, err
}
