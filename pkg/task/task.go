// Package task is TaskFlow's pure domain: the task model, validation, partial
// updates, completion and list-query parsing. It does no I/O; the clock is
// always passed in.
package task

import (
	"time"
)

// Priority orders tasks from Low to Urgent.
type Priority string

const (
	Low    Priority = "low"
	Medium Priority = "medium"
	High   Priority = "high"
	Urgent Priority = "urgent"
)

var priorities = []Priority{Low, Medium, High, Urgent}

// Rank is the sort position of p: Low is 0, Urgent 3, unknown -1.
func (p Priority) Rank() int {
	for i, q := range priorities {
		if q == p {
			return i
		}
	}
	return -1
}

// PriorityFromRank is the inverse of Rank.
func PriorityFromRank(r int) Priority {
	if r < 0 || r >= len(priorities) {
		return Medium
	}
	return priorities[r]
}

// Status is a task's state.
type Status string

const (
	Active    Status = "active"
	Completed Status = "completed"
)

// Limits of the contract (API.md §3).
const (
	MaxTitle       = 200
	MaxDescription = 10000
	MaxTags        = 20
	MaxTagLen      = 50
	MaxOccurrences = 10000
)

// Task is one task as the API shows it.
type Task struct {
	ID           string      `json:"id"`
	UserID       string      `json:"-"`
	Title        string      `json:"title"`
	Description  string      `json:"description"`
	Status       Status      `json:"status"`
	Priority     Priority    `json:"priority"`
	Tags         []string    `json:"tags"`
	DueDate      *time.Time  `json:"due_date"`
	ReminderTime *time.Time  `json:"reminder_time"` // the earliest of Reminders' instants
	Reminders    []Reminder  `json:"reminders"`     // at most MaxReminders, by instant
	IsRecurring  bool        `json:"is_recurring"`
	Recurrence   *Recurrence `json:"recurrence_pattern"`
	SeriesID     *string     `json:"series_id"`
	CompletedAt  *time.Time  `json:"completed_at"`
	CreatedAt    time.Time   `json:"created_at"`
	UpdatedAt    time.Time   `json:"updated_at"`
	// Version increases with every change; it is the ETag.
	Version int64 `json:"-"`
	// SeriesStart is the series' DTSTART: the first occurrence's due date,
	// the anchor every later occurrence is computed from.
	SeriesStart *time.Time `json:"-"`
}

// New builds a task for user from a create body at time now. It does not
// assign an id; ops.Insert does, with the rest of what storing it decides.
func New(user string, in Input, now time.Time) (Task, error) {
	t := Task{UserID: user, Status: Active, Priority: Medium, Tags: []string{}, CreatedAt: now, UpdatedAt: now}
	if in.Status.Set {
		return Task{}, invalidField("status", "is set by the server on create")
	}
	in.apply(&t, now)
	if err := t.Validate(); err != nil {
		return Task{}, err
	}
	if err := in.checkReminderTime(t); err != nil {
		return Task{}, err
	}
	t.anchor()
	return t, nil
}

// anchor starts a new series at the task's due date.
func (t *Task) anchor() {
	t.SeriesStart = nil
	if t.IsRecurring && t.DueDate != nil {
		d := *t.DueDate
		t.SeriesStart = &d
	}
}

// Replace applies a PUT body: every editable field takes the body's value or
// its default. It reports whether anything changed.
func (t Task) Replace(in Input, now time.Time) (Task, bool, error) {
	n := t
	n.Title, n.Description, n.Priority, n.Tags = "", "", Medium, []string{}
	n.DueDate, n.ReminderTime, n.IsRecurring, n.Recurrence = nil, nil, false, nil
	n.Reminders = nil
	in.apply(&n, now)
	return t.finish(n, in, now)
}

// Patch applies a PATCH body: only the fields sent change.
func (t Task) Patch(in Input, now time.Time) (Task, bool, error) {
	n := t
	n.Tags = append([]string(nil), t.Tags...)
	in.apply(&n, now)
	return t.finish(n, in, now)
}

func (t Task) finish(n Task, in Input, now time.Time) (Task, bool, error) {
	if err := n.Validate(); err != nil {
		return Task{}, false, err
	}
	if err := in.checkReminderTime(n); err != nil {
		return Task{}, false, err
	}
	if n.Equal(t) {
		return t, false, nil
	}
	if n.IsRecurring != t.IsRecurring || !timeEq(n.DueDate, t.DueDate) || !n.Recurrence.Equal(t.Recurrence) {
		n.anchor() // a changed pattern or due date starts the series afresh here
	}
	n.UpdatedAt = now
	return n, true, nil
}

// Complete marks t completed at now. Completing a completed task changes
// nothing and reports false.
func (t Task) Complete(now time.Time) (Task, bool) {
	if t.Status == Completed {
		return t, false
	}
	t.Status = Completed
	c := now
	t.CompletedAt = &c
	t.UpdatedAt = now
	return t, true
}

// Equal reports whether the client-visible, editable state of t and o is the same.
func (t Task) Equal(o Task) bool {
	if t.Title != o.Title || t.Description != o.Description || t.Status != o.Status ||
		t.Priority != o.Priority || t.IsRecurring != o.IsRecurring || len(t.Tags) != len(o.Tags) {
		return false
	}
	for i := range t.Tags {
		if t.Tags[i] != o.Tags[i] {
			return false
		}
	}
	return timeEq(t.DueDate, o.DueDate) && timeEq(t.ReminderTime, o.ReminderTime) && remindersEqual(t.Reminders, o.Reminders) &&
		timeEq(t.CompletedAt, o.CompletedAt) && t.Recurrence.Equal(o.Recurrence)
}

func timeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
