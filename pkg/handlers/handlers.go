// Package handlers holds the REST operations, one file each. Every function
// under functions/ serves one of these route sets through pkg/fn; each handler
// decodes, runs the pure step from pkg/task, calls the store and encodes.
package handlers

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/task"
	"github.com/taskflow/taskflow/pkg/updates"
)

// Every returns all REST routes: what the local gateway and tests serve in one process.
func Every(d *fn.Deps) []fn.Route {
	var all []fn.Route
	for _, r := range []fn.Routes{Create, Get, Update, Delete, Complete, List, Search, Tags, History, Notifications, Preview,
		Settings, Calendar} {
		all = append(all, r(d)...)
	}
	return all
}

// taskID reads and checks the {id} path value; a malformed id is simply not found.
func taskID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if uuid.Validate(id) != nil {
		return "", errs.ErrNotFound
	}
	return id, nil
}

// target reads the {id} path value and the If-Match version (0: none) of a
// request that changes a task.
func target(r *http.Request) (string, int64, error) {
	id, err := taskID(r)
	if err != nil {
		return "", 0, err
	}
	ifMatch, err := fn.IfMatch(r)
	return id, ifMatch, err
}

// writeTask answers with one task, its ETag and the headers given as name,
// value pairs; nothing is written unless the task encodes.
func writeTask(w http.ResponseWriter, status int, t task.Task, headers ...string) error {
	body, err := fn.EncodeJSON(t)
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		w.Header().Set(headers[i], headers[i+1])
	}
	w.Header().Set("ETag", fn.ETag(t.Version))
	fn.WriteEncoded(w, status, body)
	return nil
}

// route registers pattern in the /api/... style; /api/{user_id}/... reaches it
// through fn.SplitUserPath.
func route(method, pattern string, h fn.Handler) fn.Route {
	return fn.Route{Method: method, Pattern: pattern, Handle: h}
}

// queryRoute is route for a handler that validates its own query string
// (every bad parameter at once); on other routes the harness refuses any.
func queryRoute(method, pattern string, h fn.Handler) fn.Route {
	r := route(method, pattern, h)
	r.ParsesQuery = true
	return r
}

// Functions names the function that serves each route set: the gateway routes
// by it and the manifests deploy one Service per entry.
var Functions = map[string]fn.Routes{
	"create": Create, "get": Get, "update": Update, "delete": Delete, "complete": Complete,
	"list": List, "search": Search, "tags": Tags, "history": History, "notifications": Notifications,
	"recurrence": Preview, "updates": updates.New(nil).Routes, "settings": Settings, "calendar": Calendar,
}
