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

// ruleIn is p's rule and the zone it is evaluated in.
func ruleIn(p task.Recurrence) (rfc5545.Rule, *time.Location, error) {
	loc, err := p.Location()
	if err != nil {
		return rfc5545.Rule{}, nil, err
	}
	rule, err := p.Rule()
	return rule, loc, err
}

// series is pattern p anchored at dtstart.
func series(p task.Recurrence, dtstart time.Time) (*rfc5545.Series, error) {
	rule, loc, err := ruleIn(p)
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
// the occurrences found before the bound stopped the search. A series that
// repeats from completion has no dates before it is done: its occurrences are
// those it has when each is completed on its due date (FromCompletion).
func Occurrences(p task.Recurrence, dtstart time.Time, n int) ([]time.Time, error) {
	if p.FromCompletion() {
		out := []time.Time{dtstart.UTC()}
		for len(out) < min(n, MaxPreview) {
			next, ok, err := FromCompletion(p, dtstart, len(out), out[len(out)-1])
			if err != nil || !ok {
				return out, err
			}
			out = append(out, next)
		}
		return out, nil
	}
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

// Successor is the occurrence that follows prev when prev was completed (or
// skipped) at done, created at now, with its reminders carried over
// (task.CarryReminders) and occurrence number prev.Occurrence+1. For a series
// that repeats from its due dates (API.md §5) it is due at the series' first
// occurrence after max(prev's due date, done), after done for a series without
// due dates. For one that repeats from completion it is FromCompletion's date.
// ok is false when the series has ended, or would go on past task.MaxTime.
func Successor(prev task.Task, done time.Time, now time.Time) (task.Task, bool, error) {
	if !prev.IsRecurring || prev.Recurrence == nil {
		return task.Task{}, false, nil
	}
	if prev.AllDay != nil && prev.DueDate != nil {
		return dateSuccessor(prev, done, now)
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
	var (
		due time.Time
		ok  bool
		err error
	)
	if prev.Recurrence.FromCompletion() && prev.DueDate != nil {
		due, ok, err = FromCompletion(*prev.Recurrence, dtstart, max(prev.Occurrence, 1), done)
	} else {
		due, ok, err = Next(*prev.Recurrence, dtstart, after)
	}
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
	if prev.Occurrence > 0 {
		next.Occurrence = prev.Occurrence + 1
	}
	next.Reminders = task.CarryReminders(prev, next)
	if len(next.Reminders) > 0 {
		r := next.Reminders[0].At
		next.ReminderTime = &r
	}
	return next, true, nil
}

// FromCompletion is the due date of occurrence n+1 of a series that repeats
// from completion (recurrence_pattern.repeat_from "completion", Todoist's
// "every!"), its occurrence n done (completed or skipped) at done. The rule is
// re-anchored at DTSTART = done's wall-clock date in p's zone at the series'
// time of day (dtstart's wall clock there), and the next due date is the
// rule's first occurrence strictly after that DTSTART (RFC 5545 §3.3.10): the
// date plus the interval for a rule without BY parts, the next matching day
// otherwise. The wall-clock time becomes an instant as RFC 5545 §3.3.5 says
// (API.md §5). UNTIL (end_date) holds as for any series; COUNT
// (occurrences) counts n: ok is false once the series has had COUNT
// occurrences.
func FromCompletion(p task.Recurrence, dtstart time.Time, n int, done time.Time) (time.Time, bool, error) {
	rule, loc, ok, err := completionRule(p, n)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	start, day := dtstart.In(loc), done.In(loc)
	h, mi, sec := start.Clock()
	wall := time.Date(day.Year(), day.Month(), day.Day(), h, mi, sec, 0, time.UTC)
	s := rfc5545.NewSeriesAt(rule, wall, loc)
	v, ok, err := s.Next(rfc5545.Resolve(wall, loc))
	return v.UTC(), ok, err
}

// floatingDate is t's calendar date in loc at 00:00 UTC: a DATE value.
func floatingDate(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// dateSeries is pattern p as an RFC 5545 DATE series (DTSTART;VALUE=DATE)
// starting on the date start (00:00 UTC): its occurrences are dates,
// evaluated as floating dates, so no DST change can move one off its day.
// An UNTIL (end_date, or the rrule's) is an instant: the last date it allows
// is the one the instant falls on in the series' zone, inclusive.
func dateSeries(p task.Recurrence, start time.Time) (*rfc5545.Series, error) {
	rule, loc, err := ruleIn(p)
	if err != nil {
		return nil, err
	}
	return rfc5545.NewSeries(dateRule(rule, loc), start, time.UTC), nil
}

// dateRule is rule for a DATE series evaluated in loc: its UNTIL, an
// instant, becomes the date it falls on in loc.
func dateRule(rule rfc5545.Rule, loc *time.Location) rfc5545.Rule {
	if !rule.Until.IsZero() {
		rule.Until = floatingDate(rule.Until, loc)
	}
	return rule
}

// DateOccurrences is the first n (at most MaxPreview) dates of the DATE
// series of p starting on start (a date at 00:00 UTC), start first; each a
// date at 00:00 UTC. ErrTooFar as for Occurrences.
func DateOccurrences(p task.Recurrence, start time.Time, n int) ([]time.Time, error) {
	s, err := dateSeries(p, start)
	if err != nil {
		return nil, err
	}
	return s.First(min(n, MaxPreview))
}

// completionRule is p's rule and zone for a series that repeats from
// completion, its occurrence n done: COUNT is counted here, so the rule
// comes without it, and ok is false once the series has had COUNT
// occurrences.
func completionRule(p task.Recurrence, n int) (rfc5545.Rule, *time.Location, bool, error) {
	rule, loc, err := ruleIn(p)
	if err != nil {
		return rfc5545.Rule{}, nil, false, err
	}
	if rule.Count > 0 && n >= rule.Count {
		return rfc5545.Rule{}, nil, false, nil
	}
	rule.Count = 0 // the re-anchored series starts at n
	return rule, loc, true, nil
}

// dateFromCompletion is FromCompletion for a DATE series: the rule
// re-anchored at the completion date (DTSTART;VALUE=DATE) and its first date
// after it. COUNT counts n, the occurrences had so far; UNTIL holds as in
// dateSeries.
func dateFromCompletion(p task.Recurrence, n int, done time.Time) (time.Time, bool, error) {
	rule, loc, ok, err := completionRule(p, n)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	return rfc5545.NewSeries(dateRule(rule, loc), done, time.UTC).Next(done)
}

// dateSuccessor is Successor for an all-day task: the series is a DATE
// series from the date of its first occurrence, and the next occurrence is
// its first date after both prev's date and the date, in the task's zone, it
// was completed on (completing today's occurrence makes the next one
// tomorrow's or later). The successor is all-day in the same zone, with the
// same reminder base; a reminder_time keeps its wall-clock time and its
// number of days before the due date, so it stays at 09:00 the day before
// across a DST change.
func dateSuccessor(prev task.Task, done, now time.Time) (task.Task, bool, error) {
	loc := prev.AllDay.Location()
	day := prev.AllDay.Day()
	start := day
	if prev.SeriesStart != nil {
		start = floatingDate(*prev.SeriesStart, loc)
	}
	after := day
	if d := floatingDate(done, loc); d.After(after) {
		after = d
	}
	var (
		date time.Time
		ok   bool
		err  error
	)
	if prev.Recurrence.FromCompletion() {
		date, ok, err = dateFromCompletion(*prev.Recurrence, max(prev.Occurrence, 1), floatingDate(done, loc))
	} else {
		var s *rfc5545.Series
		if s, err = dateSeries(*prev.Recurrence, start); err == nil {
			date, ok, err = s.Next(after)
		}
	}
	if err != nil || !ok {
		return task.Task{}, false, err
	}
	dtstart := task.DayStart(start, loc)
	next := task.Task{
		UserID: prev.UserID, Title: prev.Title, Description: prev.Description, Status: task.Active,
		Priority: prev.Priority, Tags: append([]string{}, prev.Tags...), IsRecurring: true,
		Recurrence: prev.Recurrence, SeriesID: prev.SeriesID, SeriesStart: &dtstart, CreatedAt: now, UpdatedAt: now,
	}
	if prev.Occurrence > 0 {
		next.Occurrence = prev.Occurrence + 1
	}
	next.SetAllDay(date, prev.AllDay.Zone, prev.AllDay.BaseMinutes)
	if !task.InRange(*next.DueDate) || !task.InRange(next.AllDay.End) {
		return task.Task{}, false, nil
	}
	next.Reminders = task.CarryReminders(prev, next)
	if len(next.Reminders) > 0 {
		r := next.Reminders[0].At
		next.ReminderTime = &r
	}
	return next, true, nil
}
