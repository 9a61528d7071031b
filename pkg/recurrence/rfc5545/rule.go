// Package rfc5545 is TaskFlow's RFC 5545 recurrence engine: a strict parser
// for the RRULE values TaskFlow accepts, and a series (a rule anchored at a
// DTSTART in a time zone) whose occurrences are exactly those RFC 5545 gives:
// DTSTART counts as the first occurrence (§3.3.10) and wall-clock times are
// turned into instants as §3.3.5 says. The calendar expansion itself is
// github.com/teambition/rrule-go's, run on floating (zone-less) times.
//
// It depends on nothing else in TaskFlow, so that pkg/task can validate a
// pattern with the same code that later expands it.
package rfc5545

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// Limits on a rule, as API.md and the README state them.
const (
	MaxInterval = 1000
	MaxCount    = 10000
	MaxLength   = 500
)

// WeekdayN is one BYDAY value: a weekday, and N ≠ 0 for "the Nth such day"
// of the month or year (negative counts from the end).
type WeekdayN struct {
	N   int
	Day time.Weekday
}

// Rule is an RRULE. A zero Until means none; Count 0 means none; Interval
// 0 means 1.
type Rule struct {
	Freq                                               rrule.Frequency
	Interval, Count                                    int
	Until                                              time.Time
	ByMonth, ByMonthDay, ByYearDay, ByWeekNo, BySetPos []int
	ByHour, ByMinute, BySecond                         []int
	ByDay                                              []WeekdayN
	Wkst                                               time.Weekday // default Monday, as in RFC 5545
	wkstSet                                            bool
}

// Problem is one thing wrong with a rule: the rule part it concerns
// ("BYMONTHDAY") and what is wrong with it.
type Problem struct {
	Part, Msg string
}

func (p Problem) String() string { return p.Part + " " + p.Msg }

// Clean is an RRULE value without an "RRULE:" prefix, surrounding space or
// a trailing ";" (which some clients send).
func Clean(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 6 && strings.EqualFold(s[:6], "RRULE:") {
		s = s[6:]
	}
	return strings.TrimRight(s, ";")
}

var weekdayNames = map[string]time.Weekday{"SU": time.Sunday, "MO": time.Monday, "TU": time.Tuesday,
	"WE": time.Wednesday, "TH": time.Thursday, "FR": time.Friday, "SA": time.Saturday}

var freqNames = map[string]rrule.Frequency{"DAILY": rrule.DAILY, "WEEKLY": rrule.WEEKLY,
	"MONTHLY": rrule.MONTHLY, "YEARLY": rrule.YEARLY}

// Parse reads an RRULE value strictly: every rule part at most once, every
// value in its RFC 5545 range, nothing TaskFlow does not support (sub-daily
// frequencies or more than one time of day, DTSTART, rule parts from other
// RFCs), and the rule consistent with itself (Check). It reports every
// problem it finds.
func Parse(s string) (Rule, []Problem) {
	var r Rule
	var probs []Problem
	bad := func(part, format string, a ...any) { probs = append(probs, Problem{part, fmt.Sprintf(format, a...)}) }
	if len(s) > MaxLength {
		bad("RRULE", "must be at most %d characters", MaxLength)
		return r, probs
	}
	s = strings.ToUpper(Clean(s)) // names and enumerated values are case-insensitive (RFC 5545 §3.1)
	if strings.Contains(s, "DTSTART") || strings.ContainsAny(s, "\r\n") {
		bad("RRULE", "must be a single RRULE value without DTSTART (the series starts at due_date)")
		return r, probs
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ";") {
		name, val, ok := strings.Cut(part, "=")
		if !ok || name == "" || val == "" {
			bad("RRULE", "has %q, not a NAME=VALUE rule part", part)
			continue
		}
		if seen[name] {
			bad(name, "is given more than once")
			continue
		}
		seen[name] = true
		switch name {
		case "FREQ":
			switch f, ok := freqNames[val]; {
			case ok:
				r.Freq = f
			case val == "HOURLY" || val == "MINUTELY" || val == "SECONDLY":
				bad(name, "must be DAILY, WEEKLY, MONTHLY or YEARLY: sub-daily rules are not supported")
			default:
				bad(name, "must be DAILY, WEEKLY, MONTHLY or YEARLY")
			}
		case "INTERVAL":
			r.Interval = intPart(name, val, 1, MaxInterval, bad)
		case "COUNT":
			r.Count = intPart(name, val, 1, MaxCount, bad)
		case "UNTIL":
			u, err := time.Parse("20060102T150405Z", val)
			if err != nil {
				bad(name, "must be a UTC date-time such as 20271231T235959Z (RFC 5545: UNTIL is in UTC when DTSTART has a time zone)")
			}
			r.Until = u
		case "BYMONTH":
			r.ByMonth = listPart(name, val, 1, 12, false, bad)
		case "BYMONTHDAY":
			r.ByMonthDay = listPart(name, val, 1, 31, true, bad)
		case "BYYEARDAY":
			r.ByYearDay = listPart(name, val, 1, 366, true, bad)
		case "BYWEEKNO":
			r.ByWeekNo = listPart(name, val, 1, 53, true, bad)
		case "BYSETPOS":
			r.BySetPos = listPart(name, val, 1, 366, true, bad)
		case "BYHOUR":
			r.ByHour = listPart(name, val, 0, 23, false, bad)
		case "BYMINUTE":
			r.ByMinute = listPart(name, val, 0, 59, false, bad)
		case "BYSECOND":
			r.BySecond = listPart(name, val, 0, 59, false, bad)
		case "BYDAY":
			for _, v := range strings.Split(val, ",") {
				w, ok := weekdayNames[v[max(len(v)-2, 0):]]
				n, err := 0, error(nil)
				if num := v[:max(len(v)-2, 0)]; num != "" {
					n, err = strconv.Atoi(num)
				}
				if !ok || err != nil || n < -53 || n > 53 || (n == 0 && len(v) > 2) {
					bad(name, "has %q: each day must be SU..SA, optionally after a count 1..53 or -53..-1 (2TU, -1FR)", v)
					continue
				}
				r.ByDay = append(r.ByDay, WeekdayN{n, w})
			}
		case "WKST":
			w, ok := weekdayNames[val]
			if !ok {
				bad(name, "must be one of SU, MO, TU, WE, TH, FR, SA")
			}
			r.Wkst, r.wkstSet = w, true
		default:
			bad(name, "is not a rule part TaskFlow supports (RFC 5545 §3.3.10)")
		}
	}
	if !seen["FREQ"] {
		bad("FREQ", "is required")
	}
	if len(probs) == 0 {
		probs = r.Check()
	}
	return r, probs
}

func intPart(name, val string, lo, hi int, bad func(string, string, ...any)) int {
	n, err := strconv.Atoi(val)
	if err != nil || n < lo || n > hi {
		bad(name, "must be an integer %d..%d", lo, hi)
	}
	return n
}

// listPart reads a comma list of integers lo..hi, or also -hi..-lo when signed.
func listPart(name, val string, lo, hi int, signed bool, bad func(string, string, ...any)) []int {
	var out []int
	for _, v := range strings.Split(val, ",") {
		n, err := strconv.Atoi(v)
		if err != nil || !(n >= lo && n <= hi || signed && n <= -lo && n >= -hi) {
			if signed {
				bad(name, "has %q: values must be %d..%d or %d..%d", v, lo, hi, -hi, -lo)
			} else {
				bad(name, "has %q: values must be %d..%d", v, lo, hi)
			}
			continue
		}
		out = append(out, n)
	}
	return out
}

// Check reports what makes a rule contradict RFC 5545 or itself: rule parts
// that RFC 5545 forbids with its frequency or with each other, more than one
// time of day (a sub-daily series), and month/day combinations that never
// occur. Whether the rule occurs at all from a given DTSTART is Series'
// business (Series.Check).
func (r Rule) Check() []Problem {
	var probs []Problem
	bad := func(part, format string, a ...any) { probs = append(probs, Problem{part, fmt.Sprintf(format, a...)}) }
	if r.Count != 0 && !r.Until.IsZero() {
		bad("COUNT", "cannot be combined with UNTIL (RFC 5545 §3.3.10)")
	}
	for name, l := range map[string][]int{"BYHOUR": r.ByHour, "BYMINUTE": r.ByMinute, "BYSECOND": r.BySecond} {
		if len(l) > 1 {
			bad(name, "must have at most one value: sub-daily rules (several times a day) are not supported")
		}
	}
	if len(r.ByMonthDay) > 0 && r.Freq == rrule.WEEKLY {
		bad("BYMONTHDAY", "is not allowed with FREQ=WEEKLY (RFC 5545 §3.3.10)")
	}
	if len(r.ByYearDay) > 0 && r.Freq != rrule.YEARLY {
		bad("BYYEARDAY", "is only allowed with FREQ=YEARLY (RFC 5545 §3.3.10)")
	}
	if len(r.ByWeekNo) > 0 && r.Freq != rrule.YEARLY {
		bad("BYWEEKNO", "is only allowed with FREQ=YEARLY (RFC 5545 §3.3.10)")
	}
	if len(r.BySetPos) > 0 && len(r.ByMonth)+len(r.ByMonthDay)+len(r.ByYearDay)+len(r.ByWeekNo)+len(r.ByDay)+
		len(r.ByHour)+len(r.ByMinute)+len(r.BySecond) == 0 {
		bad("BYSETPOS", "needs another BYxxx rule part to select from (RFC 5545 §3.3.10)")
	}
	for _, d := range r.ByDay {
		if msg := r.countProblem(d); msg != "" {
			bad("BYDAY", "%s", msg)
			break
		}
	}
	if len(r.ByMonthDay) > 0 && len(r.ByMonth) > 0 && !anyMonthDay(r.ByMonth, r.ByMonthDay) {
		bad("BYMONTHDAY", "never falls in the months of BYMONTH")
	}
	return probs
}

// countProblem is what is wrong with d's count in r, or "".
func (r Rule) countProblem(d WeekdayN) string {
	switch {
	case d.N == 0:
		return ""
	case r.Freq != rrule.MONTHLY && r.Freq != rrule.YEARLY:
		return "can only have a count (like 2TU) with FREQ=MONTHLY or YEARLY (RFC 5545 §3.3.10)"
	case r.Freq == rrule.YEARLY && len(r.ByWeekNo) > 0:
		return "cannot have a count (like 2TU) together with BYWEEKNO (RFC 5545 §3.3.10)"
	case (r.Freq == rrule.MONTHLY || len(r.ByMonth) > 0) && (d.N > 5 || d.N < -5):
		return "counts within a month must be 1..5 or -5..-1"
	}
	return ""
}

// anyMonthDay reports whether some day of days exists in some month of months.
func anyMonthDay(months, days []int) bool {
	for _, m := range months {
		n := time.Date(2000, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() // a leap year: 29 February exists
		for _, d := range days {
			if d <= n && d >= -n {
				return true
			}
		}
	}
	return false
}

// option is r as rrule-go's options, with DTSTART dtstart and no COUNT or
// UNTIL (the series applies those itself).
func (r Rule) option(dtstart time.Time) rrule.ROption {
	o := rrule.ROption{Freq: r.Freq, Interval: max(r.Interval, 1), Dtstart: dtstart, Wkst: rrule.MO,
		Bymonth: r.ByMonth, Bymonthday: r.ByMonthDay, Byyearday: r.ByYearDay, Byweekno: r.ByWeekNo,
		Bysetpos: r.BySetPos, Byhour: r.ByHour, Byminute: r.ByMinute, Bysecond: r.BySecond}
	if r.wkstSet {
		o.Wkst = rruleDays[r.Wkst]
	}
	for _, d := range r.ByDay {
		o.Byweekday = append(o.Byweekday, rruleDays[d.Day].Nth(d.N))
	}
	return o
}

var rruleDays = [...]rrule.Weekday{rrule.SU, rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA}
