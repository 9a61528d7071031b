package task

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taskflow/taskflow/pkg/errs"
)

// Validate checks t against the contract and normalises its tags (trimmed,
// de-duplicated case-insensitively, first spelling kept). It reports every
// field error at once.
func (t *Task) Validate() error {
	fe := errs.FieldErrors{}
	if t.Title == "" {
		fe.Add("title", "is required")
	} else if utf8.RuneCountInString(t.Title) > MaxTitle {
		fe.Add("title", "must be at most 200 characters")
	}
	for name, text := range map[string]string{"title": t.Title, "description": t.Description} {
		if msg := TextProblem(text); msg != "" {
			fe.Add(name, msg)
		}
	}
	if utf8.RuneCountInString(t.Description) > MaxDescription {
		fe.Add("description", "must be at most 10000 characters")
	}
	if t.Priority.Rank() < 0 {
		fe.Add("priority", "must be one of low, medium, high, urgent")
	}
	t.Tags = normaliseTags(t.Tags, fe)
	checkRange(fe, "due_date", t.DueDate)
	checkRange(fe, "reminder_time", t.ReminderTime)
	if t.Recurrence != nil {
		checkRange(fe, "recurrence_pattern.end_date", t.Recurrence.EndDate)
	}
	if t.AllDay != nil {
		checkRange(fe, "due_date", &t.AllDay.End)
	}
	t.settleReminders(fe)
	switch {
	case t.IsRecurring && t.Recurrence == nil:
		fe.Add("recurrence_pattern", "is required when is_recurring is true")
	case !t.IsRecurring && t.Recurrence != nil:
		fe.Add("is_recurring", "must be true when recurrence_pattern is set")
	case t.Recurrence != nil:
		t.Recurrence.validate(fe, t.DueDate)
	}
	return fe.Err()
}

// checkRange refuses an instant outside MinTime..MaxTime: ParseTime already
// does for what clients send, this holds for tasks made any other way (a
// series' next occurrence).
func checkRange(fe errs.FieldErrors, name string, t *time.Time) {
	if t != nil && !InRange(*t) {
		fe.Add(name, errTimeRange.Error())
	}
}

// TextProblem says what makes s unfit to store as text ("" when nothing):
// PostgreSQL refuses NUL characters and invalid UTF-8.
func TextProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.ContainsRune(s, 0):
		return "must not contain NUL characters"
	}
	return ""
}

func normaliseTags(in []string, fe errs.FieldErrors) []string {
	if len(in) > MaxTags {
		fe.Add("tags", "at most 20 tags per task")
		return in
	}
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, tag := range in {
		tag = strings.TrimSpace(tag)
		n := utf8.RuneCountInString(tag)
		if n == 0 || n > MaxTagLen || !utf8.ValidString(tag) || strings.ContainsAny(tag, "\x00,") {
			fe.Add("tags", "each tag must be 1..50 characters, without commas")
			continue
		}
		k := TagKey(tag)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, tag)
	}
	return out
}

// TagKey is the case-insensitive identity of a tag.
func TagKey(tag string) string { return strings.ToLower(strings.TrimSpace(tag)) }
