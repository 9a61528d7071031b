package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/recurrence"
	"github.com/taskflow/taskflow/pkg/task"
)

// Occurrence is one entry of a recurrence preview: the instant, and what a
// person in the pattern's zone sees on their clock and calendar then.
type Occurrence struct {
	At       time.Time `json:"at"`       // UTC
	Local    string    `json:"local"`    // wall-clock time in Timezone, without offset
	Offset   string    `json:"offset"`   // Timezone's UTC offset at that instant, "+02:00"
	Weekday  string    `json:"weekday"`  // in Timezone, "Sunday"
	Timezone string    `json:"timezone"` // the pattern's IANA zone
	// Date is the occurrence's date ("2031-05-04") in a DATE series (a
	// preview of an all-day due_date); At is then that day's first instant
	// in Timezone.
	Date string `json:"date,omitempty"`
}

// Preview serves POST /api/recurrence/preview: the first occurrences of the
// series a task with this due date and pattern would start (API.md §4, §5),
// validated as create validates them. Nothing is stored.
func Preview(d *fn.Deps) []fn.Route {
	return []fn.Route{route(http.MethodPost, "/api/recurrence/preview", func(w http.ResponseWriter, r *http.Request, user string) error {
		body, err := fn.ReadJSON(r)
		if err != nil {
			return err
		}
		var load func() (task.Settings, error)
		if d.Store != nil {
			load = func() (task.Settings, error) { return d.Store.Settings(r.Context(), user) }
		}
		p, err := task.ParsePreviewWith(body, load)
		if err != nil {
			return err
		}
		out, err := Occurrences(p)
		if err != nil {
			return err
		}
		return fn.WriteJSON(w, http.StatusOK, map[string][]Occurrence{"occurrences": out})
	})}
}

// Occurrences lists p's series (the preview's answer; also the MCP tool's).
// A series ends where TaskFlow's dates do (task.MaxTime), as Successor ends
// it, and where a step finds no further occurrence within its bound.
func Occurrences(p task.Preview) ([]Occurrence, error) {
	loc, err := p.Recurrence.Location()
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err) // validated: a bug
	}
	if p.AllDay != nil {
		return dateOccurrences(p, loc)
	}
	at, err := recurrence.Occurrences(p.Recurrence, p.DueDate, p.Count)
	if err != nil && !errors.Is(err, recurrence.ErrTooFar) {
		return nil, fmt.Errorf("preview: %w", err) // validated: a bug
	}
	out := make([]Occurrence, 0, len(at))
	for _, t := range at {
		if !task.InRange(t) {
			break
		}
		l := t.In(loc)
		out = append(out, Occurrence{At: t, Local: l.Format("2006-01-02T15:04:05"), Offset: l.Format("-07:00"),
			Weekday: l.Weekday().String(), Timezone: loc.String()})
	}
	return out, nil
}

// dateOccurrences lists the dates of p's DATE series, each with its day's
// first instant in loc.
func dateOccurrences(p task.Preview, loc *time.Location) ([]Occurrence, error) {
	days, err := recurrence.DateOccurrences(p.Recurrence, p.AllDay.Day(), p.Count)
	if err != nil && !errors.Is(err, recurrence.ErrTooFar) {
		return nil, fmt.Errorf("preview: %w", err) // validated: a bug
	}
	out := make([]Occurrence, 0, len(days))
	for _, day := range days {
		t := task.DayStart(day, loc)
		if !task.InRange(t) {
			break
		}
		l := t.In(loc)
		out = append(out, Occurrence{At: t, Local: l.Format("2006-01-02T15:04:05"), Offset: l.Format("-07:00"),
			Weekday: day.Weekday().String(), Timezone: loc.String(), Date: day.Format(task.DateLayout)})
	}
	return out, nil
}
