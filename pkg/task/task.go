// Package task is TaskFlow's pure domain: the task model, validation, partial
// updates, completion and list-query parsing. It does no I/O; the clock is
// always passed in.
package task

import (
	"time"

	"github.com/taskflow/taskflow/pkg/errs"
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
	// Skipped is an occurrence of a series passed over (POST
	// /api/tasks/{id}/skip): done with, not completed; its successor is made
	// as for a completion.
	Skipped Status = "skipped"
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
	// Occurrence is the task's position in its series counted from
	// SeriesStart (1 for the anchor), carried +1 to each successor: how a
	// series that repeats from completion, re-anchored at every occurrence,
	// keeps its COUNT (recurrence_pattern.occurrences). 0 when unknown
	// (a series stored before it was kept) or the task does not recur.
	Occurrence int `json:"-"`
	// AllDay is set when the task is due on a date without a time (its
	// due_date is then that date's first instant in AllDay.Zone); nil for a
	// timed task or one without a due date.
	AllDay *AllDay `json:"-"`
}

// New builds a task for user from a create body at time now. It does not
// assign an id; ops.Insert does, with the rest of what storing it decides.
func New(user string, in Input, now time.Time) (Task, error) {
	t := Task{UserID: user, Status: Active, Priority: Medium, Tags: []string{}, CreatedAt: now, UpdatedAt: now}
	if in.Status.Set {
		return Task{}, invalidField("status", "is set by the server on create")
	}
	in.apply(&t, now)
	t.fixAllDay(in, in.settings())
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
	t.SeriesStart, t.Occurrence = nil, 0
	if t.IsRecurring {
		t.Occurrence = 1
	}
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
	n.DueDate, n.ReminderTime, n.IsRecurring, n.Recurrence, n.AllDay = nil, nil, false, nil, nil
	n.Reminders = nil
	in.apply(&n, now)
	n.fixAllDay(in, in.settings())
	return t.finish(n, in, now)
}

// Patch applies a PATCH body: only the fields sent change.
func (t Task) Patch(in Input, now time.Time) (Task, bool, error) {
	n := t
	n.Tags = append([]string(nil), t.Tags...)
	in.apply(&n, now)
	n.fixAllDay(in, in.settings())
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
	if n.IsRecurring != t.IsRecurring || !timeEq(n.DueDate, t.DueDate) || !n.Recurrence.Equal(t.Recurrence) ||
		!allDayEq(n.AllDay, t.AllDay) {
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

// Skip marks t, an occurrence of a series, skipped at now: not completed
// (completed_at stays null), and its successor is made as if it had been
// completed at now. Skipping a skipped task changes nothing and reports
// false. A task that does not recur, or is completed, cannot be skipped
// (errs.ErrConflict).
func (t Task) Skip(now time.Time) (Task, bool, error) {
	switch {
	case t.Status == Skipped:
		return t, false, nil
	case !t.IsRecurring || t.Recurrence == nil:
		return Task{}, false, errs.With(errs.ErrConflict, "the task does not recur: only an occurrence of a series can be skipped")
	case t.Status == Completed:
		return Task{}, false, errs.With(errs.ErrConflict, "the task is completed: its series goes on from its next occurrence")
	}
	t.Status, t.CompletedAt, t.UpdatedAt = Skipped, nil, now
	return t, true, nil
}

// EndSeries makes t, an active occurrence of a series, the series' last: it
// stops recurring (is_recurring false, recurrence_pattern null) and keeps its
// series_id, so that its history and the series stay linked; completing it
// later makes no successor. A task that does not recur cannot end a series,
// and neither can a completed or skipped occurrence, whose successor is made
// already or on its way: the series is ended from that successor
// (errs.ErrConflict for both).
func (t Task) EndSeries(now time.Time) (Task, error) {
	switch {
	case !t.IsRecurring || t.Recurrence == nil:
		return Task{}, errs.With(errs.ErrConflict, "the task does not recur: there is no series to end")
	case t.Status != Active:
		return Task{}, errs.With(errs.ErrConflict, "the occurrence is "+string(t.Status)+
			": its series goes on from its next occurrence; end the series there")
	}
	t.IsRecurring, t.Recurrence, t.SeriesStart, t.Occurrence, t.UpdatedAt = false, nil, nil, 0, now
	return t, nil
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
		timeEq(t.CompletedAt, o.CompletedAt) && t.Recurrence.Equal(o.Recurrence) && allDayEq(t.AllDay, o.AllDay)
}

// allDayEq reports whether a and b are the same all-day date in the same
// zone with the same reminder base (both nil: two timed tasks).
func allDayEq(a, b *AllDay) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Date == b.Date && a.Zone == b.Zone && a.BaseMinutes == b.BaseMinutes && a.End.Equal(b.End)
}

func timeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
