package mcpserver

import (
	"encoding/json"
	"time"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/task"
)

// Local is an instant as a person in a zone sees it: the shape of the
// recurrence preview's occurrences (API.md §4), without the instant itself,
// which the field beside it holds.
type Local struct {
	Local    string `json:"local"`    // wall-clock time without offset, 2031-05-04T09:00:00
	Weekday  string `json:"weekday"`  // Sunday
	Offset   string `json:"offset"`   // +02:00
	Timezone string `json:"timezone"` // Europe/Berlin; UTC by default
	// AllDay marks the due date of an all-day task: Local is then the date
	// alone (2031-05-04), in the zone the task's date is read in.
	AllDay bool `json:"all_day,omitempty"`
}

func localOf(t time.Time, loc *time.Location) Local {
	l := t.In(loc)
	return Local{Local: l.Format("2006-01-02T15:04:05"), Weekday: l.Weekday().String(), Offset: l.Format("-07:00"),
		Timezone: loc.String()}
}

func localPtr(t *time.Time, loc *time.Location) *Local {
	if t == nil {
		return nil
	}
	l := localOf(*t, loc)
	return &l
}

// Task is a task as the tools give it: the REST body (API.md §3) plus its
// version (what if_match_version compares with, the ETag's number) and
// every date again as local time (<field>_local, null when the date is).
type Task struct {
	task.Task
	Version           int64    `json:"version"`
	Recurrence        *Pattern `json:"recurrence_pattern"`
	DueDateLocal      *Local   `json:"due_date_local"`
	ReminderTimeLocal *Local   `json:"reminder_time_local"`
	CompletedAtLocal  *Local   `json:"completed_at_local"`
	CreatedAtLocal    Local    `json:"created_at_local"`
	UpdatedAtLocal    Local    `json:"updated_at_local"`
}

// MarshalJSON encodes t as the REST body (task.Task's own encoding: an
// all-day due_date is a date) with the fields above added or replacing
// the body's.
func (t Task) MarshalJSON() ([]byte, error) {
	base, err := json.Marshal(t.Task)
	if err != nil {
		return nil, err
	}
	extra, err := json.Marshal(struct {
		Version           int64    `json:"version"`
		Recurrence        *Pattern `json:"recurrence_pattern"`
		DueDateLocal      *Local   `json:"due_date_local"`
		ReminderTimeLocal *Local   `json:"reminder_time_local"`
		CompletedAtLocal  *Local   `json:"completed_at_local"`
		CreatedAtLocal    Local    `json:"created_at_local"`
		UpdatedAtLocal    Local    `json:"updated_at_local"`
	}{t.Version, t.Recurrence, t.DueDateLocal, t.ReminderTimeLocal, t.CompletedAtLocal, t.CreatedAtLocal, t.UpdatedAtLocal})
	if err != nil {
		return nil, err
	}
	var m, e map[string]json.RawMessage
	if err := json.Unmarshal(base, &m); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(extra, &e); err != nil {
		return nil, err
	}
	for k, v := range e {
		m[k] = v
	}
	return json.Marshal(m)
}

// Pattern is a recurrence pattern with its end date as local time.
type Pattern struct {
	*task.Recurrence
	EndDateLocal *Local `json:"end_date_local,omitempty"`
}

// zoneFor is the zone a task's dates are shown in: the one the caller asked
// for, else the task's recurrence timezone, else UTC.
func zoneFor(t task.Task, asked *time.Location) *time.Location {
	if asked != nil {
		return asked
	}
	if t.Recurrence != nil {
		if loc, err := t.Recurrence.Location(); err == nil {
			return loc
		}
	}
	return time.UTC
}

func toTask(t task.Task, asked *time.Location) Task {
	loc := zoneFor(t, asked)
	out := Task{Task: t, Version: t.Version, DueDateLocal: localPtr(t.DueDate, loc),
		ReminderTimeLocal: localPtr(t.ReminderTime, loc), CompletedAtLocal: localPtr(t.CompletedAt, loc),
		CreatedAtLocal: localOf(t.CreatedAt, loc), UpdatedAtLocal: localOf(t.UpdatedAt, loc)}
	if a := t.AllDay; a != nil && t.DueDate != nil {
		l := localOf(*t.DueDate, a.Location())
		l.Local, l.Weekday, l.AllDay = a.Date, a.Day().Weekday().String(), true
		out.DueDateLocal = &l
	}
	if t.Recurrence != nil {
		out.Recurrence = &Pattern{Recurrence: t.Recurrence, EndDateLocal: localPtr(t.Recurrence.EndDate, loc)}
	}
	return out
}

func toTasks(ts []task.Task, asked *time.Location) []Task {
	out := make([]Task, len(ts))
	for i, t := range ts {
		out[i] = toTask(t, asked)
	}
	return out
}

// HistoryEntry is an audit entry with its time as local time.
type HistoryEntry struct {
	store.AuditEntry
	TimeLocal Local `json:"time_local"`
}

// Notification is a delivered reminder with its times as local times.
type Notification struct {
	events.Notification
	RemindAtLocal    Local `json:"remind_at_local"`
	DeliveredAtLocal Local `json:"delivered_at_local"`
}

func orUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}
