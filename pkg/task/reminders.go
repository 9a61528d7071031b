package task

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sosodev/duration"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/recurrence/rfc5545"
)

// MaxReminders is how many reminders a task may have.
const MaxReminders = 5

// MaxBeforeDue is the longest before_due a relative reminder may have.
const MaxBeforeDue = 366 * 24 * time.Hour

// Reminder is one of a task's reminders: absolute (BeforeDue empty), at the
// instant At, or relative, BeforeDue before the task's due date, At being
// the instant that gives (computed; a client's At is ignored). In JSON:
// {"at": RFC 3339} or {"before_due": "PT15M", "at": RFC 3339}.
type Reminder struct {
	// BeforeDue is an RFC 5545 §3.3.6 duration without sign: weeks, or days
	// and hours, minutes, seconds ("P1W", "P1D", "PT15M", "P1DT2H"; "PT0S"
	// is at the due time); at most P366D.
	BeforeDue string    `json:"before_due,omitempty"`
	At        time.Time `json:"at"`
}

// Relative reports whether r counts back from the due date.
func (r Reminder) Relative() bool { return r.BeforeDue != "" }

// beforeDue is a parsed before_due: days (weeks as 7 days) are nominal, the
// rest exact (RFC 5545 §3.3.6).
type beforeDue struct {
	days  int
	exact time.Duration
}

// parseBeforeDue parses a before_due duration. github.com/sosodev/duration
// parses ISO 8601 durations; what RFC 5545 §3.3.6 does not allow in a
// reminder's offset (a sign, years and months, fractions, a unit twice,
// weeks with other units, no unit at all) is refused here.
func parseBeforeDue(s string) (beforeDue, error) {
	bad := func(why string) (beforeDue, error) {
		return beforeDue{}, fmt.Errorf("must be an RFC 5545 duration like PT15M, P1D, P1W or P1DT2H: %s", why)
	}
	if !strings.HasPrefix(s, "P") {
		return bad("it starts with P and has no sign")
	}
	if strings.ContainsAny(s, ".,") {
		return bad("whole numbers only")
	}
	datePart, _, _ := strings.Cut(s, "T")
	if strings.ContainsAny(datePart, "YM") {
		return bad("years and months are not allowed (their length varies)")
	}
	if strings.HasSuffix(s, "T") || !strings.ContainsAny(s, "0123456789") {
		return bad("a number and a unit are required")
	}
	for _, u := range "WDHMS" {
		if strings.Count(s, string(u)) > 1 {
			return bad("each unit at most once")
		}
	}
	if strings.Contains(s, "W") && (!strings.HasSuffix(s, "W") || strings.ContainsAny(s, "DTHMS")) {
		return bad("weeks cannot be combined with other units")
	}
	d, err := duration.Parse(s)
	if err != nil || d.Negative {
		return bad("it does not parse")
	}
	const limit = 366 * 24 * 3600
	if d.Weeks*7*86400+d.Days*86400+d.Hours*3600+d.Minutes*60+d.Seconds > limit {
		return bad("at most P366D")
	}
	return beforeDue{days: int(d.Weeks)*7 + int(d.Days),
		exact: time.Duration(d.Hours)*time.Hour + time.Duration(d.Minutes)*time.Minute + time.Duration(d.Seconds)*time.Second}, nil
}

// before is the instant b before due. Days count back in wall-clock terms in
// loc (RFC 5545 §3.3.6: a day is nominal, so P1D before 09:00 is 09:00 the
// day before across a DST change, resolved as §3.3.5 says), then the exact
// part is subtracted.
func (b beforeDue) before(due time.Time, loc *time.Location) time.Time {
	at := due
	if b.days != 0 {
		w := due.In(loc)
		at = rfc5545.Resolve(time.Date(w.Year(), w.Month(), w.Day()-b.days, w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC), loc)
	}
	return at.Add(-b.exact).UTC()
}

// reminderZone is the zone t's relative reminders count days back in: an
// all-day task's zone, the series' zone when it recurs with one, else UTC
// (exact days).
func (t Task) reminderZone() *time.Location {
	if t.AllDay != nil {
		return t.AllDay.Location()
	}
	if t.IsRecurring && t.Recurrence != nil {
		if loc, err := t.Recurrence.Location(); err == nil {
			return loc
		}
	}
	return time.UTC
}

// parseReminders decodes the "reminders" field: null or an array of up to
// MaxReminders objects, each {"at"} or {"before_due"} (both: relative, its
// at ignored). Field errors go under reminders[i].<key>.
func parseReminders(raw json.RawMessage, fe errs.FieldErrors) Opt[[]Reminder] {
	o := Opt[[]Reminder]{Set: true}
	if isNull(raw) {
		return o
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		fe.Add("reminders", `must be an array of {"at": RFC 3339} or {"before_due": duration}`)
		return o
	}
	if len(items) > MaxReminders {
		fe.Add("reminders", fmt.Sprintf("at most %d reminders per task", MaxReminders))
		return o
	}
	out := make([]Reminder, 0, len(items))
	for i, item := range items {
		p := fmt.Sprintf("reminders[%d]", i)
		fields, err := object(item)
		if err != nil {
			fe.Add(p, `must be {"at": RFC 3339} or {"before_due": duration}`)
			continue
		}
		var r Reminder
		for k := range fields {
			if k != "at" && k != "before_due" {
				fe.Add(p+"."+k, "unknown field")
			}
		}
		if rawDur, ok := fields["before_due"]; ok && !isNull(rawDur) {
			var s string
			if json.Unmarshal(rawDur, &s) != nil {
				fe.Add(p+".before_due", "must be a duration string like PT15M")
				continue
			}
			if _, err := parseBeforeDue(s); err != nil {
				fe.Add(p+".before_due", err.Error())
				continue
			}
			r.BeforeDue = s
		} else if rawAt, ok := fields["at"]; ok && !isNull(rawAt) {
			at := decodeTime(rawAt, p+".at", fe)
			if at.Value == nil {
				continue
			}
			r.At = *at.Value
		} else {
			fe.Add(p, `needs "at" (an RFC 3339 instant) or "before_due" (a duration before the due date)`)
			continue
		}
		out = append(out, r)
	}
	o.Value = &out
	return o
}

// settleReminders computes t's reminder instants, checks them and orders
// them by instant, and sets ReminderTime to the earliest (nil when none).
// Reminders nil means "as ReminderTime says" (a body with reminder_time and
// no reminders, or a task built before reminders existed): one absolute
// reminder, or none, its errors reported under reminder_time.
func (t *Task) settleReminders(fe errs.FieldErrors) {
	if t.Reminders == nil {
		t.Reminders = []Reminder{}
		if t.ReminderTime != nil {
			if why := t.tooLate(*t.ReminderTime); why != "" {
				fe.Add("reminder_time", why)
			}
			t.Reminders = []Reminder{{At: *t.ReminderTime}}
		}
		return
	}
	rs := slices.Clone(t.Reminders)
	if len(rs) > MaxReminders {
		fe.Add("reminders", fmt.Sprintf("at most %d reminders per task", MaxReminders))
	}
	loc := t.reminderZone()
	ok := true
	for i := range rs {
		p := fmt.Sprintf("reminders[%d]", i)
		r := &rs[i]
		if !r.Relative() {
			if why := t.tooLate(r.At); why != "" {
				fe.Add(p+".at", why)
			}
			checkRange(fe, p+".at", &r.At)
			continue
		}
		b, err := parseBeforeDue(r.BeforeDue)
		switch {
		case err != nil:
			fe.Add(p+".before_due", err.Error())
		case t.DueDate == nil:
			fe.Add(p+".before_due", "needs a due_date to count back from")
		default:
			base, _ := t.ReminderBase()
			r.At = b.before(base, loc)
			checkRange(fe, p+".before_due", &r.At)
			continue
		}
		ok = false
	}
	for i := range rs {
		for j := range i {
			if ok && rs[i].At.Equal(rs[j].At) {
				fe.Add(fmt.Sprintf("reminders[%d]", i), fmt.Sprintf("is at the same instant as reminders[%d]", j))
			}
		}
	}
	slices.SortStableFunc(rs, func(a, b Reminder) int { return a.At.Compare(b.At) })
	t.Reminders, t.ReminderTime = rs, nil
	if len(rs) > 0 {
		first := rs[0].At
		t.ReminderTime = &first
	}
}

// ReminderTimes is the instants of t's reminders, earliest first.
func (t Task) ReminderTimes() []time.Time {
	out := make([]time.Time, len(t.Reminders))
	for i, r := range t.Reminders {
		out[i] = r.At
	}
	return out
}

// tooLate is why an absolute reminder at at is refused ("" when it is not):
// it must not be after a timed task's due date, nor at or after the end of
// an all-day task's due day in its zone.
func (t Task) tooLate(at time.Time) string {
	switch {
	case t.DueDate == nil:
		return ""
	case t.AllDay != nil && !at.Before(t.AllDay.End):
		return "must not be after the end of the all-day due date (" + t.AllDay.Date + " in " + t.AllDay.Zone + ")"
	case t.AllDay == nil && at.After(*t.DueDate):
		return "must not be after due_date"
	}
	return ""
}

// CarryReminders is the reminders of next, the occurrence after prev
// (API.md §5, extended): a relative reminder keeps its before_due, counted
// back from next's reminder base (ReminderBase); an absolute one keeps its
// offset before the due date, or, between two all-day occurrences, its
// wall-clock time and its number of days before the due day in their zone
// (so 09:00 the day before stays 09:00 across a DST change). A task without
// a due date carries none. Reminders built before reminders existed (nil)
// carry ReminderTime's.
func CarryReminders(prev, next Task) []Reminder {
	if prev.DueDate == nil || next.DueDate == nil {
		return []Reminder{}
	}
	rs := prev.Reminders
	if rs == nil && prev.ReminderTime != nil {
		rs = []Reminder{{At: *prev.ReminderTime}}
	}
	loc := next.reminderZone()
	base, _ := next.ReminderBase()
	out := make([]Reminder, 0, len(rs))
	for _, r := range rs {
		switch b, err := parseBeforeDue(r.BeforeDue); {
		case r.Relative() && err == nil:
			out = append(out, Reminder{BeforeDue: r.BeforeDue, At: b.before(base, loc)})
		case r.Relative():
		case prev.AllDay != nil && next.AllDay != nil:
			out = append(out, Reminder{At: sameWallClock(r.At, prev.AllDay, next.AllDay)})
		default:
			out = append(out, Reminder{At: next.DueDate.Add(-prev.DueDate.Sub(r.At)).UTC()})
		}
	}
	slices.SortStableFunc(out, func(a, b Reminder) int { return a.At.Compare(b.At) })
	return out
}

// sameWallClock is the instant as many days before next's due day, at the
// same wall-clock time in next's zone, as at is before prev's due day in
// prev's zone (RFC 5545 §3.3.5 for a time the clocks skip).
func sameWallClock(at time.Time, prev, next *AllDay) time.Time {
	pd, nd := prev.Day(), next.Day()
	w := at.In(prev.Location())
	day := time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
	h, m, sec := w.Clock()
	back := int(pd.Sub(day).Hours() / 24)
	v := nd.AddDate(0, 0, -back).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec)*time.Second + time.Duration(w.Nanosecond()))
	return rfc5545.Resolve(v, next.Location()).UTC()
}

// remindersEqual reports whether a and b are the same reminders.
func remindersEqual(a, b []Reminder) bool {
	return slices.EqualFunc(a, b, func(x, y Reminder) bool { return x.BeforeDue == y.BeforeDue && x.At.Equal(y.At) })
}

// checkReminderTime holds a body that sends both reminders and reminder_time
// to agreeing: reminder_time must be the earliest instant the reminders give
// (what a task read back shows), or null when there are none.
func (in Input) checkReminderTime(t Task) error {
	if !in.Reminders.Set || !in.ReminderTime.Set {
		return nil
	}
	if !timeEq(in.ReminderTime.Value, t.ReminderTime) {
		return invalidField("reminder_time", "must equal the earliest instant of reminders (or be left out)")
	}
	return nil
}
