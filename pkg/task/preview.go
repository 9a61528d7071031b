package task

import (
	"encoding/json"
	"time"

	"github.com/taskflow/taskflow/pkg/errs"
)

// Preview bounds: how many occurrences POST /api/recurrence/preview lists.
const (
	DefaultPreview = 5
	MaxPreview     = 50
)

// Preview is a decoded POST /api/recurrence/preview body: a series' first
// due date (its DTSTART), its pattern, and how many occurrences to list.
type Preview struct {
	DueDate    time.Time
	Recurrence Recurrence
	Count      int
	// AllDay is set when due_date was a date: the series is an RFC 5545
	// DATE series and its occurrences are dates.
	AllDay *AllDay
}

// ParsePreview decodes and validates a preview body. due_date and
// recurrence_pattern go through the same decoders and validation as on
// create, so a body that previews is one whose task would be accepted, with
// the same field errors otherwise; every error is reported at once. Both are
// required here: a series without a due date has no first occurrence to
// list.
func ParsePreview(data []byte) (Preview, error) { return ParsePreviewFor(data, DefaultSettings) }

// ParsePreviewWith is ParsePreview for the user whose settings load gives:
// load (nil: DefaultSettings) is called only when the due_date is a date,
// which is read in the user's zone unless the pattern names one, and its
// error is returned as it is.
func ParsePreviewWith(data []byte, load func() (Settings, error)) (Preview, error) {
	p, err := ParsePreview(data)
	if err != nil || p.AllDay == nil || load == nil {
		return p, err
	}
	s, err := load()
	if err != nil {
		return p, err
	}
	return ParsePreviewFor(data, s)
}

// ParsePreviewFor is ParsePreview for a user with settings s, which place a
// date due_date in their zone when the pattern names none (as on create).
func ParsePreviewFor(data []byte, s Settings) (Preview, error) {
	p := Preview{Count: DefaultPreview}
	fields, err := object(data)
	if err != nil {
		return p, err
	}
	fe := JSONProblems(data)
	var due Opt[time.Time]
	var day string
	var rec *Recurrence
	for name, raw := range fields {
		switch name {
		case "due_date":
			due, day = decodeDue(raw, name, fe)
		case "recurrence_pattern":
			if isNull(raw) {
				continue
			}
			if r, isObject := parseRecurrence(raw, fe); isObject {
				rec = &r
			}
		case "count":
			if isNull(raw) {
				continue
			}
			if json.Unmarshal(raw, &p.Count) != nil || p.Count < 1 || p.Count > MaxPreview {
				fe.Add(name, "must be an integer from 1 to 50")
			}
		default:
			fe.Add(name, "unknown field")
		}
	}
	if due.Value == nil && fe["due_date"] == "" {
		fe.Add("due_date", "is required: the series' first occurrence (DTSTART)")
	}
	if rec == nil && fe["recurrence_pattern"] == "" {
		fe.Add("recurrence_pattern", "is required")
	}
	if rec != nil {
		// The task create would build, validated as create validates it
		// (also when due_date was bad: the pattern's own problems are listed too).
		t := Task{Title: "preview", Status: Active, Priority: Medium, Tags: []string{}, DueDate: due.Value,
			IsRecurring: true, Recurrence: rec}
		if day != "" && due.Value != nil {
			t.AllDay = &AllDay{Date: day}
			t.fixAllDay(Input{DueDay: day}, s)
		}
		if err := errs.Merge(fe.Err(), t.Validate()); err != nil {
			return p, err
		}
		p.DueDate, p.Recurrence, p.AllDay = *t.DueDate, *t.Recurrence, t.AllDay
	}
	return p, fe.Err()
}
