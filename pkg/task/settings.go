package task

import (
	"encoding/json"
	"fmt"
	"time"
)

// Settings are a user's settings (GET/PATCH /api/settings): the IANA zone
// an all-day due date is read in when its series names none, and the time of
// day an all-day task's relative reminders count back from.
type Settings struct {
	// Timezone is an IANA zone name, as a recurrence_pattern's timezone
	// accepts it (LoadZone); default "UTC".
	Timezone string
	// AllDayReminderMinutes is all_day_reminder_time as minutes past
	// midnight, 0..1439; default 0 ("00:00", the day's start).
	AllDayReminderMinutes int
}

// DefaultSettings are a user's settings until they change one.
var DefaultSettings = Settings{Timezone: "UTC"}

// settingsJSON is Settings as the API shows it.
type settingsJSON struct {
	Timezone           string `json:"timezone"`
	AllDayReminderTime string `json:"all_day_reminder_time"`
}

// MarshalJSON renders s as {"timezone": "Europe/Berlin", "all_day_reminder_time": "09:00"}.
func (s Settings) MarshalJSON() ([]byte, error) {
	m := s.AllDayReminderMinutes
	return json.Marshal(settingsJSON{Timezone: s.Timezone, AllDayReminderTime: fmt.Sprintf("%02d:%02d", m/60, m%60)})
}

// PatchSettings applies a PATCH /api/settings body to s: only the fields sent
// change. Unknown fields, a zone LoadZone refuses (as recurrence_pattern's
// timezone: no "Local", "localtime", "posix/…" or "right/…") and a time not
// written HH:MM (00:00..23:59) are field errors, every one reported at once
// (errs.ErrInvalid); null is refused too, since neither field can be absent.
func PatchSettings(s Settings, data []byte) (Settings, error) {
	fields, err := object(data)
	if err != nil {
		return s, err
	}
	fe := JSONProblems(data)
	for name, raw := range fields {
		switch name {
		case "timezone":
			v := decodeString(raw, name, fe)
			if v.Value == nil {
				if isNull(raw) {
					fe.Add(name, "must be an IANA time zone such as Europe/Berlin")
				}
				continue
			}
			if _, ok := LoadZone(*v.Value); !ok || *v.Value == "" {
				fe.Add(name, "must be an IANA time zone such as Europe/Berlin")
				continue
			}
			s.Timezone = *v.Value
		case "all_day_reminder_time":
			v := decodeString(raw, name, fe)
			if v.Value == nil {
				if isNull(raw) {
					fe.Add(name, "must be a time of day HH:MM, 00:00 to 23:59")
				}
				continue
			}
			m, ok := ParseClock(*v.Value)
			if !ok {
				fe.Add(name, "must be a time of day HH:MM, 00:00 to 23:59")
				continue
			}
			s.AllDayReminderMinutes = m
		default:
			fe.Add(name, "unknown field")
		}
	}
	return s, fe.Err()
}

// ParseClock reads a time of day written HH:MM (24-hour, two digits each,
// 00:00..23:59) as minutes past midnight.
func ParseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}
