// Package recurrence computes a recurring series' occurrences as API.md §5
// defines them: RFC 5545 semantics (pkg/recurrence/rfc5545, on
// github.com/teambition/rrule-go), evaluated in the series' time zone from a
// fixed DTSTART (the first occurrence's due date), which counts as the first
// occurrence, so COUNT and UNTIL hold across the whole series; wall-clock
// time is kept across DST changes and resolved as RFC 5545 §3.3.5 says.
// Every step is bounded (rfc5545.MaxInstants, SearchYears, MaxSpanYears).
package recurrence

import (
	"time"

	"github.com/taskflow/taskflow/pkg/recurrence/rfc5545"
	"github.com/taskflow/taskflow/pkg/task"
)

// ErrTooFar reports a step stopped by its bound: the pattern has no
// occurrence within it.
var ErrTooFar = rfc5545.ErrTooFar

// MaxPreview bounds Occurrences' n.
const MaxPreview = 1000

// series is pattern p anchored at dtstart.
func series(p task.Recurrence, dtstart time.Time) (*rfc5545.Series, error) {
	loc, err := p.Location()
	if err != nil {
		return nil, err
	}
	rule, err := p.Rule()
	if err != nil {
		return nil, err
	}
	return rfc5545.NewSeries(rule, dtstart, loc), nil
}

// Next is the series' first occurrence strictly after `after`, in UTC; ok is
// false when the series has no further occurrence.
func Next(p task.Recurrence, dtstart, after time.Time) (time.Time, bool, error) {
	s, err := series(p, dtstart)
	if err != nil {
		return time.Time{}, false, err
	}
	v, ok, err := s.Next(after)
	return v.UTC(), ok, err
}

// Occurrences is the series' first n occurrences (at most MaxPreview), in
// UTC, DTSTART first; fewer when the series ends sooner. ErrTooFar comes with
// the occurrences found before the bound stopped the search.
func Occurrences(p task.Recurrence, dtstart time.Time, n int) ([]time.Time, error) {
	s, err := series(p, dtstart)
	if err != nil {
		return nil, err
	}
	out, err := s.First(min(n, MaxPreview))
	for i := range out {
		out[i] = out[i].UTC()
	}
	return out, err
}

// Successor is the occurrence that follows prev when prev was completed at
// done: due at the series' first occurrence after max(prev's due date, done)
// (after done for a series without due dates), with its reminders carried
// over (task.CarryReminders).
// ok is false when the series has ended, or would go on past task.MaxTime.
func Successor(prev task.Task, done time.Time, now time.Time) (task.Task, bool, error) {
	if !prev.IsRecurring || prev.Recurrence == nil {
		return task.Task{}, false, nil
	}
	after, dtstart := done, done
	if prev.DueDate != nil {
		if prev.DueDate.After(after) {
			after = *prev.DueDate
		}
		dtstart = *prev.DueDate
	}
	if prev.SeriesStart != nil {
		dtstart = *prev.SeriesStart
	}
	due, ok, err := Next(*prev.Recurrence, dtstart, after)
	if err != nil || !ok || !task.InRange(due) {
		// A series also ends where TaskFlow's dates do (task.MaxTime): a
		// successor past it could not be encoded everywhere it goes.
		return task.Task{}, false, err
	}
	next := task.Task{
		UserID: prev.UserID, Title: prev.Title, Description: prev.Description, Status: task.Active,
		Priority: prev.Priority, Tags: append([]string{}, prev.Tags...), DueDate: &due, IsRecurring: true,
		Recurrence: prev.Recurrence, SeriesID: prev.SeriesID, SeriesStart: &dtstart, CreatedAt: now, UpdatedAt: now,
	}
	next.Reminders = task.CarryReminders(prev, due)
	if len(next.Reminders) > 0 {
		r := next.Reminders[0].At
		next.ReminderTime = &r
	}
	return next, true, nil
}
