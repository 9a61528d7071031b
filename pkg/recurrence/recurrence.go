// Package recurrence computes a recurring series' occurrences with
// github.com/teambition/rrule-go: RFC 5545 semantics, evaluated in the
// series' time zone from a fixed DTSTART (the first occurrence's due date),
// so COUNT and UNTIL hold across the whole series and wall-clock time is kept
// across DST changes.
package recurrence

import (
	"errors"
	"fmt"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/taskflow/taskflow/pkg/task"
)

// MaxSteps bounds how many occurrences Next walks through: a rule that
// matches rarely or never (FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30) ends the
// search instead of running to the year 9999.
const MaxSteps = 100_000

// ErrTooFar reports a search stopped by MaxSteps.
var ErrTooFar = errors.New("recurrence: no occurrence within the search bound")

var weekdays = []rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}

var freqs = map[string]rrule.Frequency{task.Daily: rrule.DAILY, task.Weekly: rrule.WEEKLY,
	task.Monthly: rrule.MONTHLY, task.Yearly: rrule.YEARLY}

// Rule builds the RRULE of pattern p for a series starting at dtstart.
func Rule(p task.Recurrence, dtstart time.Time) (*rrule.RRule, error) {
	loc, err := time.LoadLocation(zone(p))
	if err != nil {
		return nil, err
	}
	var opt rrule.ROption
	if p.RRule != "" {
		o, err := rrule.StrToROptionInLocation(task.CleanRRule(p.RRule), loc)
		if err != nil {
			return nil, err
		}
		opt = *o
	} else {
		f, ok := freqs[p.Frequency]
		if !ok {
			return nil, fmt.Errorf("recurrence: frequency %q", p.Frequency)
		}
		opt = rrule.ROption{Freq: f, Interval: max(p.Interval, 1)}
		for _, d := range p.DaysOfWeek {
			opt.Byweekday = append(opt.Byweekday, weekdays[d])
		}
		if p.DayOfMonth != 0 {
			opt.Bymonthday = []int{p.DayOfMonth}
		}
		if p.Month != 0 {
			opt.Bymonth = []int{p.Month}
		}
	}
	if p.EndDate != nil {
		opt.Until = p.EndDate.In(loc)
	}
	if p.Occurrences > 0 {
		opt.Count = p.Occurrences
	}
	opt.Dtstart = dtstart.In(loc)
	return rrule.NewRRule(opt)
}

func zone(p task.Recurrence) string {
	if p.Timezone == "" {
		return "UTC"
	}
	return p.Timezone
}

// Next is the series' first occurrence strictly after `after`, in UTC; ok is
// false when the series has no further occurrence.
func Next(p task.Recurrence, dtstart, after time.Time) (time.Time, bool, error) {
	r, err := Rule(p, dtstart)
	if err != nil {
		return time.Time{}, false, err
	}
	it := r.Iterator()
	for range MaxSteps {
		v, ok := it()
		if !ok {
			return time.Time{}, false, nil
		}
		if v.After(after) {
			return v.UTC(), true, nil
		}
	}
	return time.Time{}, false, ErrTooFar
}

// Successor is the occurrence that follows prev when prev was completed at
// done: due at the series' first occurrence after max(prev's due date, done)
// (after done for a series without due dates), with the same reminder offset.
// ok is false when the series has ended.
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
	if err != nil || !ok {
		return task.Task{}, false, err
	}
	next := task.Task{
		UserID: prev.UserID, Title: prev.Title, Description: prev.Description, Status: task.Active,
		Priority: prev.Priority, Tags: append([]string{}, prev.Tags...), DueDate: &due, IsRecurring: true,
		Recurrence: prev.Recurrence, SeriesID: prev.SeriesID, SeriesStart: &dtstart, CreatedAt: now, UpdatedAt: now,
	}
	if prev.DueDate != nil && prev.ReminderTime != nil {
		r := due.Add(-prev.DueDate.Sub(*prev.ReminderTime))
		next.ReminderTime = &r
	}
	return next, true, nil
}
