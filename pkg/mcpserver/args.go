package mcpserver

import (
	"bytes"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/task"
)

// args are a tool call's arguments: a JSON object, its members taken one
// by one; what is left is either an error (unknown field) or a body handed
// on to the REST code's own parser.
type args struct {
	m  map[string]json.RawMessage
	fe errs.FieldErrors
}

// parseArgs reads the arguments object. A key given twice, NUL or invalid
// UTF-8 are field errors, as in a REST body.
func parseArgs(raw json.RawMessage) (*args, error) {
	a := &args{m: map[string]json.RawMessage{}, fe: errs.FieldErrors{}}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return a, nil
	}
	if err := json.Unmarshal(raw, &a.m); err != nil || a.m == nil {
		return nil, errs.Invalidf("the arguments must be a JSON object")
	}
	for k, v := range task.JSONProblems(raw) {
		a.fe.Add(k, v)
	}
	return a, nil
}

// take removes and returns the member name (nil when absent or null).
func (a *args) take(name string) json.RawMessage {
	v, ok := a.m[name]
	delete(a.m, name)
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil
	}
	return v
}

func (a *args) str(name string) (string, bool) {
	raw := a.take(name)
	if raw == nil {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		a.fe.Add(name, "must be a string")
		return "", false
	}
	return s, true
}

func (a *args) boolean(name string) (bool, bool) {
	raw := a.take(name)
	if raw == nil {
		return false, false
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		a.fe.Add(name, "must be true or false")
		return false, false
	}
	return b, true
}

func (a *args) integer(name string) (int64, bool) {
	raw := a.take(name)
	if raw == nil {
		return 0, false
	}
	var n int64
	if json.Unmarshal(raw, &n) != nil {
		a.fe.Add(name, "must be an integer")
		return 0, false
	}
	return n, true
}

// taskID takes task_id: required; a malformed id is simply not found, as
// on the REST paths.
func (a *args) taskID() (string, error) {
	id, ok := a.str("task_id")
	if !ok {
		a.fe.Add("task_id", "is required")
		return "", nil
	}
	if uuid.Validate(id) != nil {
		return "", errs.ErrNotFound
	}
	return id, nil
}

// zone takes timezone, the zone local times are shown in: an IANA name as a
// recurrence pattern's timezone takes; nil when not given.
func (a *args) zone() *time.Location {
	name, ok := a.str("timezone")
	if !ok {
		return nil
	}
	loc, valid := task.LoadZone(name)
	if !valid {
		a.fe.Add("timezone", "must be an IANA time zone name such as Europe/Berlin")
		return nil
	}
	return loc
}

// rest is every member not taken, as a JSON object (its members sorted).
func (a *args) rest() []byte {
	b, _ := json.Marshal(a.m) // RawMessages from a parsed object always encode
	return b
}

// done reports the members not taken as unknown fields, and every field error.
func (a *args) done() error {
	for k := range a.m {
		a.fe.Add(k, "unknown field")
	}
	return a.fe.Err()
}

// listParams are the list parameters of API.md §4 as the REST query string
// gives them to task.ParseListQuery: strings as they are, lists (priority,
// tags) as arrays or comma lists, booleans and integers as JSON ones.
// Every other member is left for ParseListQuery to refuse.
func (a *args) query() url.Values {
	v := url.Values{}
	keys := make([]string, 0, len(a.m))
	for k := range a.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw := a.take(k)
		if raw == nil {
			continue
		}
		var s string
		var list []string
		var b bool
		var n json.Number
		switch {
		case json.Unmarshal(raw, &s) == nil:
			v.Set(k, s)
		case json.Unmarshal(raw, &list) == nil:
			v.Set(k, strings.Join(list, ","))
		case json.Unmarshal(raw, &b) == nil:
			v.Set(k, strconv.FormatBool(b))
		case json.Unmarshal(raw, &n) == nil:
			v.Set(k, n.String())
		default:
			a.fe.Add(k, "must be a string, a list of strings, a boolean or a number")
		}
	}
	return v
}
