package events

import (
	"bytes"
	"encoding/json"

	"github.com/taskflow/taskflow/pkg/task"
)

// Change is one field's change in a task's history.
type Change struct {
	From json.RawMessage `json:"from"`
	To   json.RawMessage `json:"to"`
}

// notTracked are fields every change moves, or that never change.
var notTracked = map[string]bool{"id": true, "created_at": true, "updated_at": true, "series_id": true}

var null = json.RawMessage("null")

// Changes lists the fields that differ between prev (nil for a new task) and
// next, as they appear in the API's JSON.
func Changes(prev *task.Task, next task.Task) map[string]Change {
	after := fields(next)
	before := map[string]json.RawMessage{}
	if prev != nil {
		before = fields(*prev)
	}
	out := map[string]Change{}
	for k, to := range after {
		if notTracked[k] {
			continue
		}
		from, ok := before[k]
		if !ok {
			from = null
			if isEmpty(to) {
				continue // a new task's empty fields are not news
			}
		}
		if !bytes.Equal(from, to) {
			out[k] = Change{From: from, To: to}
		}
	}
	return out
}

// ChangesOf derives the history entry of a task event from its payload.
func ChangesOf(typ string, d TaskData) map[string]Change {
	switch typ {
	case TaskCreated:
		return Changes(nil, d.Task)
	case TaskUpdated:
		return Changes(d.Previous, d.Task)
	case TaskCompleted, TaskSkipped:
		prev := d.Task
		prev.Status, prev.CompletedAt = task.Active, nil
		return Changes(&prev, d.Task)
	default:
		return map[string]Change{}
	}
}

func fields(t task.Task) map[string]json.RawMessage {
	b, _ := json.Marshal(t)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	return m
}

func isEmpty(v json.RawMessage) bool {
	switch string(v) {
	case "null", `""`, "[]", "false":
		return true
	}
	return false
}
