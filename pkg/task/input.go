package task

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taskflow/taskflow/pkg/errs"
)

// Opt is a field of a request body that may be absent, null or a value.
type Opt[T any] struct {
	Set   bool // the field was present in the body
	Value *T   // nil when the body said null
}

// Input is a decoded create, PUT or PATCH body. Only fields the body named are Set.
type Input struct {
	Title        Opt[string]
	Description  Opt[string]
	Priority     Opt[Priority]
	Tags         Opt[[]string]
	DueDate      Opt[time.Time]
	ReminderTime Opt[time.Time]
	Reminders    Opt[[]Reminder]
	IsRecurring  Opt[bool]
	Recurrence   Opt[Recurrence]
	Status       Opt[Status]
	// DueDay is due_date as sent when it is a date ("2031-05-04": the task
	// is all-day); DueDate then holds that date at 00:00 UTC.
	DueDay string
	// Settings are the writing user's settings, which place a date sent in
	// due_date in their zone. The body never sets them: the caller does,
	// when DueDay is set (nil: DefaultSettings).
	Settings *Settings
}

// settings is in.Settings or the defaults.
func (in Input) settings() Settings {
	if in.Settings == nil {
		return DefaultSettings
	}
	return *in.Settings
}

// serverOwned are fields a client may send back (a task it read) that are
// never taken from the body.
var serverOwned = map[string]bool{
	"id": true, "series_id": true, "completed_at": true, "created_at": true,
	"updated_at": true, "user_id": true,
}

// ParseInput decodes a task body. It rejects unknown fields, wrong types and
// bad values, reporting every field error at once; the fields that did decode
// are still returned, so that validation can add its own errors (errs.Merge).
// Server-owned fields are ignored. ok is false when the body is not a JSON
// object at all.
func ParseInput(data []byte) (in Input, ok bool, err error) {
	fields, err := object(data)
	if err != nil {
		return in, false, err
	}
	fe := JSONProblems(data)
	for name, raw := range fields {
		switch name {
		case "title":
			in.Title = decodeString(raw, name, fe)
		case "description":
			in.Description = decodeString(raw, name, fe)
		case "priority":
			s := decodeString(raw, name, fe)
			in.Priority = Opt[Priority]{Set: true} // null: the default, medium
			if s.Value != nil {
				p := Priority(*s.Value)
				if p.Rank() < 0 {
					fe.Add(name, "must be one of low, medium, high, urgent")
				}
				in.Priority = Opt[Priority]{Set: true, Value: &p}
			}
		case "status":
			s := decodeString(raw, name, fe)
			if s.Value != nil {
				st := Status(*s.Value)
				if st != Active && st != Completed {
					fe.Add(name, "must be active or completed")
				}
				in.Status = Opt[Status]{Set: true, Value: &st}
			}
		case "tags":
			in.Tags = Opt[[]string]{Set: true}
			if isNull(raw) {
				continue
			}
			var tags []string
			if json.Unmarshal(raw, &tags) != nil {
				fe.Add(name, "must be an array of strings")
				continue
			}
			in.Tags.Value = &tags
		case "due_date":
			in.DueDate, in.DueDay = decodeDue(raw, name, fe)
		case "reminder_time":
			in.ReminderTime = decodeTime(raw, name, fe)
		case "reminders":
			in.Reminders = parseReminders(raw, fe)
		case "is_recurring":
			in.IsRecurring = Opt[bool]{Set: true}
			if isNull(raw) {
				continue // the default: recurring exactly when there is a pattern
			}
			var b bool
			if json.Unmarshal(raw, &b) != nil {
				fe.Add(name, "must be true or false")
				continue
			}
			in.IsRecurring.Value = &b
		case "recurrence_pattern":
			in.Recurrence = Opt[Recurrence]{Set: true}
			if isNull(raw) {
				continue
			}
			// Even a pattern with bad fields is kept, so that validation can
			// report the rest of its problems too; fe already fails the body.
			if r, isObject := parseRecurrence(raw, fe); isObject {
				in.Recurrence.Value = &r
			}
		default:
			if !serverOwned[name] {
				fe.Add(name, "unknown field")
			}
		}
	}
	return in, true, fe.Err()
}

// object decodes data as one JSON object into its raw fields.
func object(data []byte) (map[string]json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errs.Invalidf("request body is empty")
	}
	if data[0] != '{' {
		return nil, errs.Invalidf("request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil {
		return nil, errs.Invalidf("request body is not valid JSON")
	}
	if dec.More() {
		return nil, errs.Invalidf("request body has data after the JSON object")
	}
	return fields, nil
}

// JSONProblems walks one JSON document and reports, under each field's path
// as clients write it ("title", "recurrence_pattern.timezone"; an array's
// items under the array's name), a key given twice and a string that is not
// valid UTF-8 or holds a NUL. encoding/json keeps the last of duplicate keys
// and quietly replaces invalid UTF-8, so neither is visible once decoded; and
// PostgreSQL refuses NUL in text. A document that is not valid JSON is left
// to the decoder to report.
func JSONProblems(data []byte) errs.FieldErrors {
	fe := errs.FieldErrors{}
	type level struct {
		object  bool
		path    string          // of the object or array
		seen    map[string]bool // an object's keys so far
		key     string          // the path of the member being read
		wantKey bool
	}
	var stack []*level
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var prev int64
	for {
		tok, err := dec.Token()
		if err != nil {
			return fe
		}
		raw := data[prev:dec.InputOffset()] // the token, after any separator
		prev = dec.InputOffset()
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if key, ok := tok.(string); ok {
				top.key = joinPath(top.path, key)
				if msg := rawTextProblem(raw, key); msg != "" {
					fe.Add(top.key, msg)
				}
				if top.seen[key] {
					fe.Add(top.key, "is given more than once")
				}
				top.seen[key], top.wantKey = true, false
				continue
			}
		}
		path := ""
		if top != nil {
			path = top.path
			if top.object {
				path = top.key
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &level{object: true, path: path, seen: map[string]bool{}, wantKey: true})
				continue
			case '[':
				stack = append(stack, &level{path: path})
				continue
			default: // '}' or ']': the container is one complete value of its parent
				stack = stack[:len(stack)-1]
			}
		case string:
			if msg := rawTextProblem(raw, v); msg != "" {
				fe.Add(path, msg)
			}
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].wantKey = true
		}
	}
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// rawTextProblem checks a string token as sent (raw) and as decoded (s).
func rawTextProblem(raw []byte, s string) string {
	if !utf8.Valid(raw) {
		return "must be valid UTF-8"
	}
	return TextProblem(s)
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// decodeString decodes a string field; null leaves Value nil.
func decodeString(raw json.RawMessage, name string, fe errs.FieldErrors) Opt[string] {
	o := Opt[string]{Set: true}
	if isNull(raw) {
		return o
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		fe.Add(name, "must be a string")
		return o
	}
	o.Value = &s
	return o
}

// decodeDue decodes a due_date: an RFC 3339 timestamp with an offset, or an
// RFC 3339 full-date (day, the date as sent) for an all-day task.
func decodeDue(raw json.RawMessage, name string, fe errs.FieldErrors) (Opt[time.Time], string) {
	var s string
	if isNull(raw) || json.Unmarshal(raw, &s) != nil || !isDate(s) {
		o := decodeTime(raw, name, fe)
		if _, bad := fe[name]; bad && json.Unmarshal(raw, &s) == nil {
			fe[name] = "must be an RFC 3339 timestamp with offset (2027-03-01T09:00:00Z) or a date (2027-03-01)"
		}
		return o, ""
	}
	d, err := ParseDate(s)
	if err != nil {
		fe.Add(name, err.Error())
		return Opt[time.Time]{Set: true}, ""
	}
	return Opt[time.Time]{Set: true, Value: &d}, s
}

// decodeTime decodes an RFC 3339 timestamp with an offset; null leaves Value nil.
func decodeTime(raw json.RawMessage, name string, fe errs.FieldErrors) Opt[time.Time] {
	o := Opt[time.Time]{Set: true}
	if isNull(raw) {
		return o
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		fe.Add(name, "must be an RFC 3339 timestamp string")
		return o
	}
	t, err := ParseTime(s)
	if err != nil {
		fe.Add(name, err.Error())
		return o
	}
	o.Value = &t
	return o
}

// The instants TaskFlow accepts in any date field, inclusive, in UTC. Every
// place a date goes holds them: PostgreSQL's timestamptz, Go's JSON encoding
// of times and RFC 3339 itself (a four-digit year, in UTC as we answer), Dapr
// job schedules and CloudEvents times. MaxTime is a whole second, so that a
// reminder rounded up to the second stays inside too.
var (
	MinTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// maxOffset is the largest UTC offset RFC 3339 can write (±23:59).
const maxOffset = 23*3600 + 59*60

// ParseTime parses an RFC 3339 timestamp with an explicit offset, in UTC. The
// offset must be one RFC 3339 allows (hours 00..23, minutes 00..59; Go's
// parser takes +24:00 and -23:60 too), and the instant must lie within
// MinTime..MaxTime once in UTC.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("must be an RFC 3339 timestamp with offset, like 2027-03-01T09:00:00Z")
	}
	_, off := t.Zone()
	badMinutes := !strings.HasSuffix(s, "Z") && s[len(s)-2] > '5' // "+05:60"
	if off > maxOffset || off < -maxOffset || badMinutes {
		return time.Time{}, fmt.Errorf("must have a UTC offset from -23:59 to +23:59")
	}
	if t.Before(MinTime) || t.After(MaxTime) {
		return time.Time{}, errTimeRange
	}
	return t.UTC(), nil
}

var errTimeRange = fmt.Errorf("must be from %s to %s in UTC", MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339))

// InRange reports whether t is within MinTime..MaxTime.
func InRange(t time.Time) bool { return !t.Before(MinTime) && !t.After(MaxTime) }

// Clamp returns t moved into MinTime..MaxTime: what a stored instant from
// before the bounds were enforced is shown as, so that it still encodes.
func Clamp(t time.Time) time.Time {
	switch {
	case t.Before(MinTime):
		return MinTime
	case t.After(MaxTime):
		return MaxTime
	}
	return t
}

// apply copies the fields set in in onto t. A null title or description
// becomes empty (and fails validation for the title).
func (in Input) apply(t *Task, now time.Time) {
	if in.Title.Set {
		t.Title = ""
		if in.Title.Value != nil {
			t.Title = strings.TrimSpace(*in.Title.Value)
		}
	}
	if in.Description.Set {
		t.Description = ""
		if in.Description.Value != nil {
			t.Description = *in.Description.Value
		}
	}
	if in.Priority.Set {
		t.Priority = Medium
		if in.Priority.Value != nil {
			t.Priority = *in.Priority.Value
		}
	}
	if in.Tags.Set {
		t.Tags = []string{}
		if in.Tags.Value != nil {
			t.Tags = append(t.Tags, (*in.Tags.Value)...)
		}
	}
	if in.DueDate.Set {
		t.DueDate, t.AllDay = in.DueDate.Value, nil
		if in.DueDay != "" && in.DueDate.Value != nil {
			t.AllDay = &AllDay{Date: in.DueDay}
		}
	}
	// Reminders: the body's list, whose instants Validate computes (a
	// reminder_time beside it is checked by checkReminderTime); or, for
	// today's clients, reminder_time alone, one absolute reminder or none.
	// Sent neither, the reminders stay and their instants follow the due date.
	switch {
	case in.Reminders.Set:
		t.Reminders, t.ReminderTime = []Reminder{}, nil
		if in.Reminders.Value != nil {
			t.Reminders = append(t.Reminders, (*in.Reminders.Value)...)
		}
	case in.ReminderTime.Set:
		t.Reminders, t.ReminderTime = nil, in.ReminderTime.Value
	}
	if in.IsRecurring.Set && in.IsRecurring.Value != nil {
		t.IsRecurring = *in.IsRecurring.Value
	}
	if in.Recurrence.Set {
		t.Recurrence = in.Recurrence.Value
		if in.IsRecurring.Value == nil {
			t.IsRecurring = in.Recurrence.Value != nil
		}
	} else if in.IsRecurring.Set && in.IsRecurring.Value == nil {
		t.IsRecurring = t.Recurrence != nil
	}
	if in.Status.Set && in.Status.Value != nil && *in.Status.Value != t.Status {
		switch *in.Status.Value {
		case Completed:
			*t, _ = t.Complete(now)
		case Active:
			t.Status, t.CompletedAt = Active, nil
		}
	}
}

func invalidField(field, msg string) error { return errs.InvalidField(field, msg) }
