package rfc5545

import "time"

// Resolve is the instant of the wall-clock time w (its fields read as a
// floating time; w's own location is ignored) in loc, as RFC 5545 §3.3.5
// says: a time that does not exist (the clocks jump past it) takes the UTC
// offset in force before the gap, and a time that occurs twice is the first
// of the two. time.Date leaves both choices unspecified, so they are made
// here from the zone's transitions around w.
func Resolve(w time.Time, loc *time.Location) time.Time {
	y, mo, d := w.Date()
	h, mi, s := w.Clock()
	float := time.Date(y, mo, d, h, mi, s, w.Nanosecond(), time.UTC)
	// The zone periods that can hold the instant: UTC offsets stay within a day.
	type period struct {
		off        time.Duration
		start, end time.Time // zero: unbounded
	}
	var periods []period
	lo, hi := float.Add(-26*time.Hour), float.Add(26*time.Hour)
	for cur := lo; len(periods) < 8; {
		c := cur.In(loc)
		_, off := c.Zone()
		start, end := c.ZoneBounds()
		periods = append(periods, period{time.Duration(off) * time.Second, start, end})
		if end.IsZero() || end.After(hi) {
			break
		}
		cur = end
	}
	in := func(p period, t time.Time) bool {
		return (p.start.IsZero() || !t.Before(p.start)) && (p.end.IsZero() || t.Before(p.end))
	}
	var first time.Time
	found := false
	for _, p := range periods {
		if t := float.Add(-p.off); in(p, t) && (!found || t.Before(first)) {
			first, found = t, true
		}
	}
	if found {
		return first.In(loc)
	}
	// In a gap: the wall clock jumped from before.end+before.off to
	// before.end+after.off, and w lies between.
	for i := 0; i+1 < len(periods); i++ {
		before, after := periods[i], periods[i+1]
		if t := before.end; !float.Before(t.Add(before.off)) && float.Before(t.Add(after.off)) {
			return float.Add(-before.off).In(loc)
		}
	}
	return time.Date(y, mo, d, h, mi, s, w.Nanosecond(), loc) // not reached for tzdata zones
}
