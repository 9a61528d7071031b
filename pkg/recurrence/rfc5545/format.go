package rfc5545

import (
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

var dayNames = [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}

var freqText = map[rrule.Frequency]string{rrule.DAILY: "DAILY", rrule.WEEKLY: "WEEKLY", rrule.MONTHLY: "MONTHLY",
	rrule.YEARLY: "YEARLY"}

// String is r as an RFC 5545 RRULE value (§3.3.10), the rule parts in the
// RFC's order: FREQ, UNTIL or COUNT, INTERVAL (when not 1), the BYxxx parts
// and WKST (when set). UNTIL is written in UTC ("20310504T070000Z"), as
// §3.3.10 requires when DTSTART has a TZID or is in UTC. It parses back
// (Parse) to the same rule.
func (r Rule) String() string {
	var b strings.Builder
	b.WriteString("FREQ=" + freqText[r.Freq])
	if !r.Until.IsZero() {
		b.WriteString(";UNTIL=" + r.Until.UTC().Format("20060102T150405Z"))
	}
	if r.Count > 0 {
		b.WriteString(";COUNT=" + strconv.Itoa(r.Count))
	}
	if r.Interval > 1 {
		b.WriteString(";INTERVAL=" + strconv.Itoa(r.Interval))
	}
	ints := func(name string, v []int) {
		if len(v) == 0 {
			return
		}
		s := make([]string, len(v))
		for i, n := range v {
			s[i] = strconv.Itoa(n)
		}
		b.WriteString(";" + name + "=" + strings.Join(s, ","))
	}
	ints("BYSECOND", r.BySecond)
	ints("BYMINUTE", r.ByMinute)
	ints("BYHOUR", r.ByHour)
	if len(r.ByDay) > 0 {
		s := make([]string, len(r.ByDay))
		for i, d := range r.ByDay {
			s[i] = dayNames[d.Day]
			if d.N != 0 {
				s[i] = strconv.Itoa(d.N) + s[i]
			}
		}
		b.WriteString(";BYDAY=" + strings.Join(s, ","))
	}
	ints("BYMONTHDAY", r.ByMonthDay)
	ints("BYYEARDAY", r.ByYearDay)
	ints("BYWEEKNO", r.ByWeekNo)
	ints("BYMONTH", r.ByMonth)
	ints("BYSETPOS", r.BySetPos)
	if r.wkstSet {
		b.WriteString(";WKST=" + dayNames[r.Wkst])
	}
	return b.String()
}

// compile-time check that the weekday table covers time.Weekday.
var _ = dayNames[time.Saturday]
