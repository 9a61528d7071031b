package task

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/taskflow/taskflow/pkg/recurrence/rfc5545"
)

// DateLayout is an RFC 3339 full-date ("2031-05-04"): an all-day due date.
const DateLayout = time.DateOnly

// AllDay marks a task due on a date without a time (issue 14, item 5). The
// task's DueDate is then the first instant of Date in Zone, so it sorts with
// the timed tasks of its day, before them.
type AllDay struct {
	// Date is the due date, an RFC 3339 full-date, as the API shows due_date.
	Date string `json:"date"`
	// Zone is the IANA zone Date is read in, fixed when the task is written:
	// its recurrence_pattern's timezone when it recurs, else the user's
	// settings timezone.
	Zone string `json:"zone"`
	// End is the first instant of the next day in Zone, in UTC: the task is
	// overdue from then on.
	End time.Time `json:"end"`
	// BaseMinutes is the wall-clock time of day, in minutes past midnight,
	// that relative reminders count back from (the user's
	// all_day_reminder_time when the task was written; 0 = the day's start).
	BaseMinutes int `json:"base_minutes"`
}

// ParseDate reads an RFC 3339 full-date (YYYY-MM-DD) that exists in the
// proleptic Gregorian calendar (2031-02-30 does not), at 00:00 UTC.
func ParseDate(s string) (time.Time, error) {
	d, err := time.Parse(DateLayout, s)
	if err != nil || len(s) != len(DateLayout) {
		return time.Time{}, fmt.Errorf("must be an RFC 3339 timestamp with offset (2027-03-01T09:00:00Z) or a date that exists (2027-03-01)")
	}
	return d, nil
}

// isDate reports whether a due_date string is written as a date, not an instant.
func isDate(s string) bool { return len(s) == len(DateLayout) }

var zones sync.Map // name → *time.Location: zones are read once per process

// zone is LoadZone, cached; UTC for a name it refuses (validation reports those).
func zone(name string) *time.Location {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location)
	}
	loc, ok := LoadZone(name)
	if !ok {
		return time.UTC
	}
	zones.Store(name, loc)
	return loc
}

// DayStart is the first instant of date (its year, month and day; the rest
// is ignored) in loc, in UTC. Where the clocks jump past midnight the day
// starts when they land (RFC 5545 §3.3.5's reading of a time in a gap).
func DayStart(date time.Time, loc *time.Location) time.Time {
	y, m, d := date.Date()
	return rfc5545.Resolve(time.Date(y, m, d, 0, 0, 0, 0, time.UTC), loc).UTC()
}

// place sets a's End and t's DueDate from a's Date and Zone.
func (t *Task) place() {
	a := t.AllDay
	d, err := ParseDate(a.Date)
	if err != nil {
		return // validated on input; a stored date always parses
	}
	loc := zone(a.Zone)
	start := DayStart(d, loc)
	t.DueDate = &start
	a.End = DayStart(d.AddDate(0, 0, 1), loc)
}

// RestoreAllDay gives a task decoded from an event payload (whose due_date
// carries only the date) the all-day details the payload carries beside it
// (events.TaskData.AllDay): the zone, the day's instants and the reminder base.
func (t *Task) RestoreAllDay(a *AllDay) {
	if a == nil || t.AllDay == nil {
		return
	}
	c := *a
	t.AllDay = &c
	t.place()
}

// fixAllDay fixes the zone of an all-day task after a write applied in to it
// (Input.apply): a date sent now is read in the user's zone (s), unless the
// task recurs with a pattern zone, which wins; a pattern without a zone takes
// the date's, so that the series and its dates agree. A date that was not
// sent keeps the zone it was written in unless the pattern's zone changes it.
func (t *Task) fixAllDay(in Input, s Settings) {
	if t.AllDay == nil {
		return
	}
	a := *t.AllDay
	if in.DueDay != "" || a.Zone == "" {
		a.Zone, a.BaseMinutes = s.Timezone, s.AllDayReminderMinutes
		if a.Zone == "" {
			a.Zone = DefaultSettings.Timezone
		}
	}
	if t.IsRecurring && t.Recurrence != nil {
		if t.Recurrence.Timezone == "" {
			r := *t.Recurrence
			r.Timezone = a.Zone
			t.Recurrence = &r
		} else if _, ok := LoadZone(t.Recurrence.Timezone); ok {
			a.Zone = t.Recurrence.Timezone
		}
	}
	t.AllDay = &a
	t.place()
}

// ReminderBase is the instant a task's relative reminders count back from
// (issue 14: {"before_due": "PT15M"}): the due instant of a timed task; for
// an all-day task, the wall-clock time AllDay.BaseMinutes past the start of
// its date in its zone (RFC 5545 §3.3.5 for a time the clocks skip or
// repeat). ok is false for a task without a due date. Pure: the base's
// inputs are stored on the task when it is written.
func (t Task) ReminderBase() (base time.Time, ok bool) {
	if t.DueDate == nil {
		return time.Time{}, false
	}
	if t.AllDay == nil {
		return *t.DueDate, true
	}
	d, err := ParseDate(t.AllDay.Date)
	if err != nil {
		return *t.DueDate, true
	}
	m := t.AllDay.BaseMinutes
	return rfc5545.Resolve(d.Add(time.Duration(m)*time.Minute), zone(t.AllDay.Zone)).UTC(), true
}

// taskAlias is Task without its JSON methods.
type taskAlias Task

// MarshalJSON renders t as the API shows it: due_date is the RFC 3339
// instant of a timed task, or the full-date of an all-day task ("2031-05-04").
func (t Task) MarshalJSON() ([]byte, error) {
	if t.AllDay == nil {
		return json.Marshal(taskAlias(t))
	}
	return json.Marshal(struct {
		taskAlias
		DueDate string `json:"due_date"`
	}{taskAlias(t), t.AllDay.Date})
}

// UnmarshalJSON reads what MarshalJSON writes. An all-day due_date gives
// AllDay with the date only, the day taken as UTC until RestoreAllDay gives
// it its zone.
func (t *Task) UnmarshalJSON(b []byte) error {
	v := struct {
		*taskAlias
		DueDate *string `json:"due_date"`
	}{taskAlias: (*taskAlias)(t)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	t.DueDate, t.AllDay = nil, nil
	if v.DueDate == nil {
		return nil
	}
	if isDate(*v.DueDate) {
		d, err := ParseDate(*v.DueDate)
		if err != nil {
			return err
		}
		t.AllDay = &AllDay{Date: *v.DueDate, Zone: "UTC"}
		t.DueDate = &d
		t.AllDay.End = d.AddDate(0, 0, 1)
		return nil
	}
	d, err := time.Parse(time.RFC3339Nano, *v.DueDate)
	if err != nil {
		return err
	}
	t.DueDate = &d
	return nil
}

// SetAllDay makes t due on date (its year, month and day) in the IANA zone
// zoneName, with relative reminders counting back from baseMinutes past the
// day's start: DueDate becomes the day's first instant there.
func (t *Task) SetAllDay(date time.Time, zoneName string, baseMinutes int) {
	t.AllDay = &AllDay{Date: date.Format(DateLayout), Zone: zoneName, BaseMinutes: baseMinutes}
	t.place()
}

// Location is the all-day task's zone, loaded (UTC for a nil AllDay).
func (a *AllDay) Location() *time.Location {
	if a == nil {
		return time.UTC
	}
	return zone(a.Zone)
}

// Day is the all-day date at 00:00 UTC (a floating date, as RFC 5545's
// DATE values are).
func (a *AllDay) Day() time.Time {
	d, _ := ParseDate(a.Date)
	return d
}
