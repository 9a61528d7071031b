package rfc5545

import (
	"errors"
	"time"

	"github.com/teambition/rrule-go"
)

// The work one step of a series may do. A step walks from DTSTART (COUNT
// counts from there) to the occurrence it wants, so it is bounded three ways:
//   - it starts at most MaxSpanYears after DTSTART;
//   - it looks at most SearchYears (and less than 400 more) past the instant
//     it starts from: the Gregorian calendar repeats every 400 years, so a
//     rule with INTERVAL=1 that occurs at all occurs within any 400 years;
//   - it expands at most MaxInstants instants.
//
// rrule-go has no bound of its own short of the year 9999 (a rule that
// never matches walks every period until then), so the horizon is set by
// running it that many 400-year cycles later, where its own end of time is
// the horizon: the calendar, weekdays and week numbers included, is the same
// there. Memory per period is bounded by the rule: at most 366 days and, as
// Parse admits one time of day only, one instant per day.
const (
	MaxSpanYears = 1000
	SearchYears  = 400
	MaxInstants  = 100_000
	maxYear      = 9999 // rrule-go's last year
)

// ErrTooFar reports a step stopped by its bound: the rule has no occurrence
// within it (it may never occur at all).
var ErrTooFar = errors.New("no occurrence within the search bound")

// Series is a rule anchored at DTSTART, evaluated in a time zone.
type Series struct {
	rule  Rule
	start time.Time      // DTSTART, the instant
	loc   *time.Location // the pattern's zone
	float time.Time      // DTSTART's wall clock in loc as a floating time (UTC fields), whole seconds
}

// NewSeries anchors r at the instant dtstart in loc.
func NewSeries(r Rule, dtstart time.Time, loc *time.Location) *Series {
	w := dtstart.In(loc)
	y, mo, d := w.Date()
	h, mi, s := w.Clock()
	return &Series{rule: r, start: dtstart, loc: loc, float: time.Date(y, mo, d, h, mi, s, 0, time.UTC)}
}

// NewSeriesAt anchors r at the wall-clock time wall (its fields read as a
// floating time) in loc: DTSTART is that wall clock, its instant as Resolve
// gives it. Unlike NewSeries, a wall clock in a DST gap stays the series'
// time of day for the occurrences that follow.
func NewSeriesAt(r Rule, wall time.Time, loc *time.Location) *Series {
	y, mo, d := wall.Date()
	h, mi, s := wall.Clock()
	return &Series{rule: r, start: Resolve(wall, loc), loc: loc, float: time.Date(y, mo, d, h, mi, s, 0, time.UTC)}
}

// floating is t's wall clock in loc as a floating time.
func floating(t time.Time, loc *time.Location) time.Time {
	w := t.In(loc)
	y, mo, d := w.Date()
	h, mi, s := w.Clock()
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

// walk yields the series' occurrences in order, from DTSTART, until yield
// returns false or the series ends. It looks for occurrences up to
// SearchYears past from, and returns ErrTooFar when that bound, MaxSpanYears
// or MaxInstants stops it first.
func (s *Series) walk(from time.Time, yield func(time.Time) bool) error {
	if !yield(s.start) {
		return nil
	}
	fromYear := max(floating(from, s.loc).Year(), s.float.Year())
	if fromYear-s.float.Year() > MaxSpanYears {
		return ErrTooFar
	}
	shift := 0
	if need := fromYear + SearchYears; need < maxYear {
		shift = (maxYear - need) / 400 * 400
	}
	opt := s.rule.option(s.float.AddDate(shift, 0, 0))
	// rrule-go stops at the first candidate past its UNTIL, by default 292
	// years after its DTSTART: give it one at the end of its time, or a
	// floating one late enough for every zone, and compare instants here.
	opt.Until = time.Date(maxYear, 12, 31, 23, 59, 59, 0, time.UTC)
	untilInHorizon := false
	if !s.rule.Until.IsZero() {
		if u := floating(s.rule.Until, s.loc).Add(48*time.Hour).AddDate(shift, 0, 0); u.Before(opt.Until) {
			opt.Until, untilInHorizon = u, true
		}
	}
	rr, err := rrule.NewRRule(opt)
	if err != nil {
		return err
	}
	it := rr.Iterator()
	n, last := 1, s.start
	for range MaxInstants {
		v, ok := it()
		if !ok {
			if shift > 0 && !untilInHorizon {
				return ErrTooFar // rrule-go reached the horizon
			}
			return nil
		}
		v = v.AddDate(-shift, 0, 0)
		if v.Equal(s.float) {
			continue // DTSTART matches the rule: it is counted already
		}
		t := Resolve(v, s.loc)
		if !s.rule.Until.IsZero() && t.After(s.rule.Until) {
			return nil
		}
		if !t.After(last) {
			continue // one instant for two wall-clock times, on a day a zone skipped
		}
		if s.rule.Count > 0 && n >= s.rule.Count {
			return nil
		}
		n, last = n+1, t
		if !yield(t) {
			return nil
		}
	}
	return ErrTooFar
}

// Next is the series' first occurrence strictly after `after`; ok is false
// when the series has no further occurrence.
func (s *Series) Next(after time.Time) (next time.Time, ok bool, err error) {
	err = s.walk(after, func(t time.Time) bool {
		if t.After(after) {
			next, ok = t, true
			return false
		}
		return true
	})
	if ok {
		return next, true, nil
	}
	return time.Time{}, false, err
}

// First is the series' first n occurrences (fewer when it ends sooner),
// DTSTART first.
func (s *Series) First(n int) ([]time.Time, error) {
	var out []time.Time
	if n <= 0 {
		return out, nil
	}
	err := s.walk(s.start, func(t time.Time) bool {
		out = append(out, t)
		return len(out) < n
	})
	if err != nil && len(out) < n {
		return out, err
	}
	return out, nil
}

// Recurs reports whether the rule, without its COUNT and UNTIL, has an
// occurrence after DTSTART within the bound: a rule that does not is
// self-contradicting from this DTSTART (29 February every other year from an
// odd year) or too sparse to evaluate.
func (s *Series) Recurs() bool {
	open := *s
	open.rule.Count, open.rule.Until = 0, time.Time{}
	_, ok, _ := open.Next(s.start)
	return ok
}
