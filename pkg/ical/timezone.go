package ical

import (
	"strconv"
	"time"

	ics "github.com/arran4/golang-ical"
)

// RuleYears is how far past the listed transitions Timezone checks that a
// zone's yearly rules hold before it writes them as RRULEs.
const RuleYears = 30

// transition is one change of a zone's offset (or name): at the instant at,
// from the offset `from` to `to` (seconds east of UTC), named name.
type transition struct {
	at       time.Time
	from, to int
	name     string
	dst      bool
}

// transitions lists loc's transitions in [start, end), from Go's tz data:
// the instants its offset, name or daylight saving time changes.
func transitions(loc *time.Location, start, end time.Time) []transition {
	var out []transition
	t := start.In(loc)
	for {
		_, next := t.ZoneBounds()
		if next.IsZero() || !next.Before(end) || !next.After(t) {
			return out
		}
		fromName, from := t.Zone()
		n := next.In(loc)
		name, to := n.Zone()
		// Past the tz data's table Go computes zones year by year from its
		// rule, with a bound at each new year that changes nothing: skipped.
		if from != to || fromName != name || t.IsDST() != n.IsDST() {
			out = append(out, transition{at: next, from: from, to: to, name: name, dst: n.IsDST()})
		}
		t = n
	}
}

// Timezone is a VTIMEZONE for loc (RFC 5545 §3.6.5), TZID its IANA name,
// built from Go's tz data (the library has no generator):
//   - an observance for the offset in force on 1 January of the year of
//     `from` (the earliest series start; now's year when zero), then one
//     observance with its own DTSTART per transition up to the end of the
//     year after max(now, from): the past exactly as the tz data has it;
//   - after that, when the zone changes twice a year by fixed rules (the Nth
//     or last weekday of a month, at one wall-clock time) for RuleYears
//     more years, one STANDARD and one DAYLIGHT observance with an RRULE
//     (FREQ=YEARLY;BYMONTH=…;BYDAY=…), which also hold for the far future;
//     otherwise the transitions of those years are listed too.
//
// An observance's DTSTART is the local time of the transition in the offset
// before it (TZOFFSETFROM), as §3.6.5 defines it.
func Timezone(loc *time.Location, from, now time.Time) *ics.VTimezone {
	tz := ics.NewTimezone(loc.String())
	y0 := now.In(loc).Year()
	if !from.IsZero() {
		y0 = min(y0, from.In(loc).Year())
	}
	y0 = max(y0, now.Year()-200)
	y1 := max(now.Year(), from.Year()) + 2 // exclusive: through the year after
	start := time.Date(y0, 1, 1, 0, 0, 0, 0, loc)
	name, off := start.Zone()
	observance(tz, start.Format(localFormat), off, off, name, start.IsDST(), "")
	end := time.Date(y1, 1, 1, 0, 0, 0, 0, loc)
	for _, tr := range transitions(loc, start, end) {
		observance(tz, local(tr), tr.from, tr.to, tr.name, tr.dst, "")
	}
	later := transitions(loc, end, time.Date(y1+RuleYears, 1, 1, 0, 0, 0, 0, loc))
	if rules, ok := yearlyRules(later); ok {
		for i, r := range rules {
			tr := later[i]
			observance(tz, local(tr), tr.from, tr.to, tr.name, tr.dst, r)
		}
		return tz
	}
	for _, tr := range later {
		observance(tz, local(tr), tr.from, tr.to, tr.name, tr.dst, "")
	}
	return tz
}

// local is a transition's DTSTART: its wall-clock time in the offset before it.
func local(tr transition) string {
	return tr.at.UTC().Add(time.Duration(tr.from) * time.Second).Format(localFormat)
}

func observance(tz *ics.VTimezone, dtstart string, from, to int, name string, dst bool, rrule string) {
	c := ics.ComponentBase{}
	c.AddProperty(ics.ComponentPropertyDtStart, dtstart)
	c.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), offset(from))
	c.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), offset(to))
	if name != "" {
		c.AddProperty(ics.ComponentProperty(ics.PropertyTzname), text(name))
	}
	if rrule != "" {
		c.AddProperty(ics.ComponentPropertyRrule, rrule)
	}
	if dst {
		tz.Components = append(tz.Components, &ics.Daylight{ComponentBase: c})
	} else {
		tz.Components = append(tz.Components, &ics.Standard{ComponentBase: c})
	}
}

// yearlyRules finds the RRULEs of trs when they are two transitions a year,
// each year alike: the same month, weekday (the Nth, or the last, of the
// month), wall-clock time, offsets and name. The rules are for trs[0] and
// trs[1]; ok is false when trs follow no such rule.
func yearlyRules(trs []transition) ([]string, bool) {
	if len(trs) < 4 || len(trs)%2 != 0 {
		return nil, false
	}
	rules := make([]string, 2)
	for slot := range 2 {
		first := trs[slot]
		nth, last := true, true
		var n0 int
		for i := slot; i < len(trs); i += 2 {
			tr, w := trs[i], trs[i].at.UTC().Add(time.Duration(trs[i].from)*time.Second)
			f := first.at.UTC().Add(time.Duration(first.from) * time.Second)
			if tr.from != first.from || tr.to != first.to || tr.name != first.name || tr.dst != first.dst ||
				w.Month() != f.Month() || w.Weekday() != f.Weekday() || w.Year() != f.Year()+(i-slot)/2 ||
				w.Hour() != f.Hour() || w.Minute() != f.Minute() || w.Second() != f.Second() {
				return nil, false
			}
			n := (w.Day()-1)/7 + 1
			if i == slot {
				n0 = n
			}
			nth = nth && n == n0
			last = last && w.Day()+7 > time.Date(w.Year(), w.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
		}
		f := first.at.UTC().Add(time.Duration(first.from) * time.Second)
		day := dayNames[f.Weekday()]
		switch {
		case nth:
			day = strconv.Itoa(n0) + day
		case last:
			day = "-1" + day
		default:
			return nil, false
		}
		rules[slot] = "FREQ=YEARLY;BYMONTH=" + strconv.Itoa(int(f.Month())) + ";BYDAY=" + day
	}
	return rules, true
}

var dayNames = [...]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}
