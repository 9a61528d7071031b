package task

import (
	"encoding/json"
	"time"
)

// Snooze limits: {"minutes": N} takes 1..MaxSnoozeMinutes (a week);
// {"until": t} must be after now and at most MaxSnoozeAhead ahead.
const (
	MaxSnoozeMinutes = 10080
	MaxSnoozeAhead   = 30 * 24 * time.Hour
)

// ParseSnooze decodes a snooze body, exactly one of {"minutes": N} or
// {"until": RFC 3339}, into the instant the notification fires again,
// reporting every field error at once.
func ParseSnooze(body []byte, now time.Time) (time.Time, error) {
	fields, err := object(body)
	if err != nil {
		return time.Time{}, err
	}
	fe := JSONProblems(body)
	var until *time.Time
	rawMin, hasMin := fields["minutes"]
	rawUntil, hasUntil := fields["until"]
	for k := range fields {
		if k != "minutes" && k != "until" {
			fe.Add(k, "unknown field")
		}
	}
	switch {
	case hasMin && hasUntil:
		fe.Add("until", "give minutes or until, not both")
	case hasMin:
		var m int
		if json.Unmarshal(rawMin, &m) != nil || m < 1 || m > MaxSnoozeMinutes {
			fe.Add("minutes", "must be a whole number from 1 to 10080 (a week)")
			break
		}
		u := now.Add(time.Duration(m) * time.Minute)
		until = &u
	case hasUntil:
		o := decodeTime(rawUntil, "until", fe)
		switch {
		case o.Value == nil:
			fe.Add("until", "must be an RFC 3339 timestamp") // unless decodeTime said why
		case !o.Value.After(now):
			fe.Add("until", "must be in the future")
		case o.Value.Sub(now) > MaxSnoozeAhead:
			fe.Add("until", "must be at most 30 days ahead")
		default:
			until = o.Value
		}
	default:
		fe.Add("minutes", `give {"minutes": 1..10080} or {"until": RFC 3339}`)
	}
	if err := fe.Err(); err != nil {
		return time.Time{}, err
	}
	return until.UTC(), nil
}
