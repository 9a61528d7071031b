package task

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // zones must resolve in minimal images too

	"github.com/teambition/rrule-go"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/recurrence/rfc5545"
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
	// RepeatFrom says what the next occurrence counts from: RepeatFromDue
	// (the default; "" reads as it) or RepeatFromCompletion.
	RepeatFrom string `json:"repeat_from,omitempty"`
}

// What a series' next occurrence counts from (recurrence_pattern.repeat_from).
const (
	// RepeatFromDue: the series' own dates, anchored at its first due date
	// (API.md §5).
	RepeatFromDue = "due"
	// RepeatFromCompletion (Todoist's "every!"): the rule re-anchored, at
	// each completion (or skip), at DTSTART = the completion time's date in
	// the pattern's zone at the series' time of day; the next occurrence is
	// the rule's first after that DTSTART (pkg/recurrence.Successor).
	RepeatFromCompletion = "completion"
)

// FromCompletion reports whether the series repeats from completion.
func (r *Recurrence) FromCompletion() bool { return r != nil && r.RepeatFrom == RepeatFromCompletion }

// from is RepeatFrom with its default.
func (r *Recurrence) from() string {
	if r.RepeatFrom == "" {
		return RepeatFromDue
	}
	return r.RepeatFrom
}

// Equal reports whether r and o describe the same pattern.
func (r *Recurrence) Equal(o *Recurrence) bool {
	if r == nil || o == nil {
		return r == o
	}
	return r.Frequency == o.Frequency && r.Interval == o.Interval && slices.Equal(r.DaysOfWeek, o.DaysOfWeek) &&
		r.DayOfMonth == o.DayOfMonth && r.Month == o.Month && timeEq(r.EndDate, o.EndDate) &&
		r.Occurrences == o.Occurrences && r.Timezone == o.Timezone && r.RRule == o.RRule && r.from() == o.from()
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
		if isNull(fields[name]) {
			return
		}
		if json.Unmarshal(fields[name], dst) != nil {
			fe.Add(p+"."+name, "must be an integer")
			return
		}
		checkPresent(name, *dst, fe)
	}
	for name, v := range fields {
		switch name {
		case "frequency", "timezone", "rrule", "repeat_from":
			s := decodeString(v, p+"."+name, fe)
			if s.Value == nil {
				continue
			}
			switch name {
			case "frequency":
				r.Frequency = *s.Value
			case "timezone":
				r.Timezone = *s.Value
			case "repeat_from":
				r.RepeatFrom = *s.Value // validate checks it; "" would read as absent
				if r.RepeatFrom == "" {
					fe.Add(p+"."+name, "must be due or completion")
				}
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
// due is the task's due date, the series' DTSTART, or nil for a series that
// recurs from its completion times.
func (r *Recurrence) validate(fe errs.FieldErrors, due *time.Time) {
	const p = "recurrence_pattern."
	if r.Timezone == "" {
		r.Timezone = "UTC"
	}
	if r.RepeatFrom = r.from(); r.RepeatFrom != RepeatFromDue && r.RepeatFrom != RepeatFromCompletion {
		fe.Add(p+"repeat_from", "must be due or completion")
	}
	loc, err := time.LoadLocation(r.Timezone)
	if err != nil || !zoneName(r.Timezone) {
		fe.Add(p+"timezone", "must be an IANA time zone such as Europe/Berlin")
		loc = nil
	}
	if r.Occurrences < 0 || r.Occurrences > MaxOccurrences {
		fe.Add(p+"occurrences", "must be between 1 and 10000")
	}
	if r.EndDate != nil && r.Occurrences != 0 {
		fe.Add(p+"occurrences", "cannot be combined with end_date (RFC 5545: a rule has COUNT or UNTIL, not both)")
	}
	if r.EndDate != nil && due != nil && r.EndDate.Before(*due) {
		fe.Add(p+"end_date", "must not be before the due date, the series' first occurrence")
	}
	field := p + "rrule"
	if r.RRule != "" {
		r.validateRRule(fe, due)
	} else {
		r.validateFields(fe)
		field = p + "frequency"
		switch { // the fields that can make a pattern miss every date
		case r.DayOfMonth != 0:
			field = p + "day_of_month"
		case r.Month != 0:
			field = p + "month"
		}
	}
	if len(fe) > 0 || due == nil || loc == nil {
		return
	}
	rule, _ := r.Rule()
	if !rfc5545.NewSeries(rule, *due, loc).Recurs() {
		fe.Add(field, fmt.Sprintf("gives no occurrence after the due date within %d years: the pattern contradicts itself "+
			"(a date that does not exist) or is too sparse", rfc5545.SearchYears))
	}
}

func (r *Recurrence) validateRRule(fe errs.FieldErrors, due *time.Time) {
	const p = "recurrence_pattern."
	if r.Frequency != "" || r.Interval != 0 || len(r.DaysOfWeek) > 0 || r.DayOfMonth != 0 || r.Month != 0 {
		fe.Add(p+"rrule", "cannot be combined with frequency, interval, days_of_week, day_of_month or month")
	}
	rule, probs := rfc5545.Parse(r.RRule)
	if len(probs) > 0 {
		msgs := make([]string, len(probs))
		for i, pr := range probs {
			msgs[i] = pr.String()
		}
		fe.Add(p+"rrule", "is not a valid RRULE for TaskFlow: "+strings.Join(msgs, "; "))
		return
	}
	switch {
	case rule.Count != 0 && r.Occurrences != 0:
		fe.Add(p+"occurrences", "cannot be combined with an rrule that has COUNT")
	case !rule.Until.IsZero() && r.EndDate != nil:
		fe.Add(p+"end_date", "cannot be combined with an rrule that has UNTIL")
	case rule.Count != 0 && r.EndDate != nil:
		fe.Add(p+"end_date", "cannot be combined with an rrule that has COUNT (RFC 5545: COUNT or UNTIL, not both)")
	case !rule.Until.IsZero() && r.Occurrences != 0:
		fe.Add(p+"occurrences", "cannot be combined with an rrule that has UNTIL (RFC 5545: COUNT or UNTIL, not both)")
	case !rule.Until.IsZero() && due != nil && rule.Until.Before(*due):
		fe.Add(p+"rrule", "has an UNTIL before the due date, the series' first occurrence")
	}
}

// validateFields checks a pattern given by its fields. Zero is "absent" here:
// a zero sent explicitly is refused when the body is parsed.
func (r *Recurrence) validateFields(fe errs.FieldErrors) {
	const p = "recurrence_pattern."
	if r.Interval == 0 {
		r.Interval = 1
	}
	if r.Interval < 1 || r.Interval > rfc5545.MaxInterval {
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
	if r.Month >= 1 && r.Month <= 12 && r.DayOfMonth > 0 && r.DayOfMonth <= 31 {
		if last := time.Date(2000, time.Month(r.Month)+1, 0, 0, 0, 0, 0, time.UTC).Day(); r.DayOfMonth > last {
			fe.Add(p+"day_of_month", fmt.Sprintf("never falls in month %d, which has at most %d days", r.Month, last))
		}
	}
}

// checkPresent refuses a field that was sent with a value the pattern's
// struct cannot tell from "absent" (zero): API.md §3 refuses it, never
// replacing it by the default.
func checkPresent(name string, v int, fe errs.FieldErrors) {
	const p = "recurrence_pattern."
	if v != 0 {
		return
	}
	switch name {
	case "interval":
		fe.Add(p+name, "must be between 1 and 1000")
	case "occurrences":
		fe.Add(p+name, "must be between 1 and 10000")
	case "day_of_month":
		fe.Add(p+name, "must be 1..31, or -1 for the last day")
	case "month":
		fe.Add(p+name, "must be 1..12")
	}
}

// Location is the pattern's zone (UTC when none is set).
func (r Recurrence) Location() (*time.Location, error) {
	if r.Timezone == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(r.Timezone)
}

// LoadZone is the IANA zone name as a pattern's timezone accepts it (see
// zoneName); ok is false for a name a pattern would refuse.
func LoadZone(name string) (loc *time.Location, ok bool) {
	if !zoneName(name) {
		return nil, false
	}
	loc, err := time.LoadLocation(name)
	return loc, err == nil
}

// zoneName reports whether name is an IANA zone that every TaskFlow process
// resolves alike: not "Local" (the host's zone), and none of the copies a
// host's zoneinfo directory may add beside the IANA names ("right/…" counts
// leap seconds, "posix/…", "localtime", "posixrules"), which the embedded
// tzdata of a minimal image does not have.
func zoneName(name string) bool {
	switch {
	case name == "Local", name == "localtime", name == "posixrules", strings.ContainsRune(name, 0),
		strings.HasPrefix(name, "right/"), strings.HasPrefix(name, "posix/"):
		return false
	}
	return true
}

var weekdays = [...]time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday,
	time.Friday, time.Saturday}

var freqs = map[string]rrule.Frequency{Daily: rrule.DAILY, Weekly: rrule.WEEKLY, Monthly: rrule.MONTHLY,
	Yearly: rrule.YEARLY}

// Rule is the pattern as an RFC 5545 rule (API.md §5): the rrule, or FREQ,
// INTERVAL, BYDAY, BYMONTHDAY and BYMONTH from the fields; UNTIL from
// end_date and COUNT from occurrences in both cases.
func (r Recurrence) Rule() (rfc5545.Rule, error) {
	var rule rfc5545.Rule
	if r.RRule != "" {
		var probs []rfc5545.Problem
		if rule, probs = rfc5545.Parse(r.RRule); len(probs) > 0 {
			return rule, fmt.Errorf("rrule: %s", probs[0])
		}
	} else {
		f, ok := freqs[r.Frequency]
		if !ok {
			return rule, fmt.Errorf("frequency %q", r.Frequency)
		}
		rule = rfc5545.Rule{Freq: f, Interval: max(r.Interval, 1)}
		for _, d := range r.DaysOfWeek {
			if d < 0 || d > 6 {
				return rule, fmt.Errorf("days_of_week: %d", d)
			}
			rule.ByDay = append(rule.ByDay, rfc5545.WeekdayN{Day: weekdays[d]})
		}
		if r.DayOfMonth != 0 {
			rule.ByMonthDay = []int{r.DayOfMonth}
		}
		if r.Month != 0 {
			rule.ByMonth = []int{r.Month}
		}
	}
	if r.EndDate != nil {
		rule.Until = *r.EndDate
	}
	if r.Occurrences > 0 {
		rule.Count = r.Occurrences
	}
	return rule, nil
}

// CleanRRule is an RRULE value without an "RRULE:" prefix, surrounding space
// or a trailing ";" (which some clients send).
func CleanRRule(s string) string { return rfc5545.Clean(s) }
