package task

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // zones must resolve in minimal images too

	"github.com/teambition/rrule-go"

	"github.com/taskflow/taskflow/pkg/errs"
)

// Frequencies a pattern may use.
const (
	Daily   = "daily"
	Weekly  = "weekly"
	Monthly = "monthly"
	Yearly  = "yearly"
)

// Recurrence is a task's recurrence_pattern (API.md §3).
type Recurrence struct {
	Frequency   string     `json:"frequency,omitempty"`
	Interval    int        `json:"interval,omitempty"`
	DaysOfWeek  []int      `json:"days_of_week,omitempty"`
	DayOfMonth  int        `json:"day_of_month,omitempty"`
	Month       int        `json:"month,omitempty"`
	EndDate     *time.Time `json:"end_date,omitempty"`
	Occurrences int        `json:"occurrences,omitempty"`
	Timezone    string     `json:"timezone,omitempty"`
	RRule       string     `json:"rrule,omitempty"`
}

// Equal reports whether r and o describe the same pattern.
func (r *Recurrence) Equal(o *Recurrence) bool {
	if r == nil || o == nil {
		return r == o
	}
	return r.Frequency == o.Frequency && r.Interval == o.Interval && slices.Equal(r.DaysOfWeek, o.DaysOfWeek) &&
		r.DayOfMonth == o.DayOfMonth && r.Month == o.Month && timeEq(r.EndDate, o.EndDate) &&
		r.Occurrences == o.Occurrences && r.Timezone == o.Timezone && r.RRule == o.RRule
}

// parseRecurrence decodes a recurrence_pattern object, adding field errors
// under "recurrence_pattern.<field>". It reports false when raw is not an object.
func parseRecurrence(raw json.RawMessage, fe errs.FieldErrors) (Recurrence, bool) {
	const p = "recurrence_pattern"
	var r Recurrence
	fields, err := object(raw)
	if err != nil {
		fe.Add(p, "must be an object or null")
		return r, false
	}
	intField := func(name string, dst *int) {
		if !isNull(fields[name]) && json.Unmarshal(fields[name], dst) != nil {
			fe.Add(p+"."+name, "must be an integer")
		}
	}
	for name, v := range fields {
		switch name {
		case "frequency", "timezone", "rrule":
			s := decodeString(v, p+"."+name, fe)
			if s.Value == nil {
				continue
			}
			switch name {
			case "frequency":
				r.Frequency = *s.Value
			case "timezone":
				r.Timezone = *s.Value
			default:
				r.RRule = *s.Value
			}
		case "interval":
			intField(name, &r.Interval)
		case "day_of_month":
			intField(name, &r.DayOfMonth)
		case "month":
			intField(name, &r.Month)
		case "occurrences":
			intField(name, &r.Occurrences)
		case "days_of_week":
			if isNull(v) {
				continue
			}
			if json.Unmarshal(v, &r.DaysOfWeek) != nil {
				fe.Add(p+"."+name, "must be an array of integers 0..6")
			}
		case "end_date":
			r.EndDate = decodeTime(v, p+"."+name, fe).Value
		default:
			fe.Add(p+"."+name, "unknown field")
		}
	}
	return r, true
}

// validate checks the pattern and normalises defaults (interval 1, UTC).
func (r *Recurrence) validate(fe errs.FieldErrors) {
	const p = "recurrence_pattern."
	if r.Timezone == "" {
		r.Timezone = "UTC"
	}
	if _, err := time.LoadLocation(r.Timezone); err != nil || strings.ContainsAny(r.Timezone, "\x00") || r.Timezone == "Local" {
		fe.Add(p+"timezone", "must be an IANA time zone such as Europe/Berlin")
	}
	if r.Occurrences < 0 || r.Occurrences > MaxOccurrences {
		fe.Add(p+"occurrences", "must be between 1 and 10000")
	}
	if r.RRule != "" {
		if r.Frequency != "" || r.Interval != 0 || len(r.DaysOfWeek) > 0 || r.DayOfMonth != 0 || r.Month != 0 {
			fe.Add(p+"rrule", "cannot be combined with frequency, interval, days_of_week, day_of_month or month")
		}
		if msg := checkRRule(r.RRule); msg != "" {
			fe.Add(p+"rrule", msg)
		}
		return
	}
	if r.Interval == 0 {
		r.Interval = 1
	}
	if r.Interval < 1 || r.Interval > 1000 {
		fe.Add(p+"interval", "must be between 1 and 1000")
	}
	switch r.Frequency {
	case Daily, Weekly, Monthly, Yearly:
	case "":
		fe.Add(p+"frequency", "is required (daily, weekly, monthly or yearly) unless rrule is given")
	default:
		fe.Add(p+"frequency", "must be daily, weekly, monthly or yearly")
	}
	if len(r.DaysOfWeek) > 0 {
		if r.Frequency != Weekly {
			fe.Add(p+"days_of_week", "is only allowed with frequency weekly")
		}
		if len(r.DaysOfWeek) > 7 {
			fe.Add(p+"days_of_week", "must list each day at most once")
		}
		for _, d := range r.DaysOfWeek {
			if d < 0 || d > 6 {
				fe.Add(p+"days_of_week", "days must be 0 (Sunday) to 6 (Saturday)")
			}
		}
		r.DaysOfWeek = slices.Compact(slices.Sorted(slices.Values(r.DaysOfWeek)))
	}
	if r.DayOfMonth != 0 {
		if r.Frequency != Monthly && r.Frequency != Yearly {
			fe.Add(p+"day_of_month", "is only allowed with frequency monthly or yearly")
		}
		if r.DayOfMonth < -1 || r.DayOfMonth > 31 {
			fe.Add(p+"day_of_month", "must be 1..31, or -1 for the last day")
		}
	}
	if r.Month != 0 {
		if r.Frequency != Yearly {
			fe.Add(p+"month", "is only allowed with frequency yearly")
		}
		if r.Month < 1 || r.Month > 12 {
			fe.Add(p+"month", "must be 1..12")
		}
	}
}

// CleanRRule is an RRULE value as rrule-go reads it: without an "RRULE:"
// prefix, surrounding space or a trailing ";" (which some clients send).
func CleanRRule(s string) string {
	return strings.TrimRight(strings.TrimPrefix(strings.TrimSpace(s), "RRULE:"), ";")
}

// checkRRule parses an RFC 5545 RRULE and refuses what TaskFlow does not
// support: sub-daily frequencies and rule parts that pin the series start.
func checkRRule(s string) string {
	if len(s) > 500 {
		return "must be at most 500 characters"
	}
	s = CleanRRule(s)
	up := strings.ToUpper(s)
	if strings.Contains(up, "DTSTART") || strings.Contains(up, "\n") {
		return "must be a single RRULE value without DTSTART (the series starts at due_date)"
	}
	opt, err := rrule.StrToROption(s)
	if err != nil {
		return "is not a valid RFC 5545 RRULE: " + err.Error()
	}
	switch opt.Freq {
	case rrule.DAILY, rrule.WEEKLY, rrule.MONTHLY, rrule.YEARLY:
	default:
		return "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"
	}
	if opt.Interval > 1000 {
		return "INTERVAL must be at most 1000"
	}
	if opt.Count > MaxOccurrences {
		return "COUNT must be at most 10000"
	}
	return ""
}
