// Package ical writes a user's active tasks as an RFC 5545 iCalendar stream
// (the calendar feed, GET /api/calendar/{secret}.ics): one VTODO per task,
// a VTIMEZONE per series zone, streamed task by task so that a feed of
// 10,000 tasks never sits in memory whole.
//
// Properties are encoded by github.com/arran4/golang-ical, which folds
// content lines at 75 octets without splitting a UTF-8 character, ends them
// with CRLF and escapes TEXT values (backslash, semicolon, comma, newline;
// RFC 5545 §3.1, §3.3.11). Two gaps of it are closed here: it leaves a
// carriage return unescaped (text normalises line breaks to "\n" first) and
// has no VTIMEZONE generator (Timezone builds one from Go's tz data).
package ical

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/taskflow/taskflow/pkg/recurrence/rfc5545"
	"github.com/taskflow/taskflow/pkg/task"
)

// ProdID is the feed's PRODID (RFC 5545 §3.7.3).
const ProdID = "-//TaskFlow//Calendar feed//EN"

const (
	utcFormat   = "20060102T150405Z"
	localFormat = "20060102T150405"
	dateFormat  = "20060102"
)

// Writer streams one VCALENDAR: NewWriter writes its head and VTIMEZONEs,
// Task one VTODO, Close its end. The first write error sticks.
type Writer struct {
	w     *bufio.Writer
	cfg   *ics.SerializationConfiguration
	zones map[string]*time.Location
	err   error
}

// NewWriter starts a calendar named name (X-WR-CALNAME) on w with a
// VTIMEZONE for each IANA zone in zones (the zones the tasks' series use;
// an unknown name or UTC gets none: such tasks are written in UTC). The
// VTIMEZONEs cover the years from `from` (the earliest series start) to a
// year past now, and the rules after that (see Timezone).
func NewWriter(w io.Writer, name string, zones []string, from, now time.Time) *Writer {
	cw := &Writer{w: bufio.NewWriterSize(w, 64<<10), zones: map[string]*time.Location{},
		cfg: &ics.SerializationConfiguration{MaxLength: 75, PropertyMaxLength: 75, NewLine: "\r\n"}}
	cw.line("BEGIN:VCALENDAR")
	for _, p := range []struct{ name, value string }{{"PRODID", ProdID}, {"VERSION", "2.0"},
		{"CALSCALE", "GREGORIAN"}, {"X-WR-CALNAME", text(name)}} {
		cw.prop(ics.IANAProperty{BaseProperty: ics.BaseProperty{IANAToken: p.name, Value: p.value}})
	}
	for _, z := range zones {
		loc, ok := task.LoadZone(z)
		if !ok || loc == time.UTC || z == "UTC" {
			continue
		}
		cw.zones[z] = loc
		if cw.err == nil {
			cw.err = Timezone(loc, from, now).SerializeTo(cw.w, cw.cfg)
		}
	}
	return cw
}

func (cw *Writer) line(s string) {
	if cw.err == nil {
		_, cw.err = cw.w.WriteString(s + "\r\n")
	}
}

func (cw *Writer) prop(p ics.IANAProperty) {
	if cw.err == nil {
		cw.err = p.SerializeTo(cw.w, cw.cfg)
	}
}

// Task writes t as a VTODO (Todo), from the Cache when it holds t's
// encoding at this version.
func (cw *Writer) Task(t task.Task) error {
	if cw.err != nil {
		return cw.err
	}
	key := cacheKey{id: t.ID, version: t.Version, updated: t.UpdatedAt.UnixNano()}
	if b, ok := encoded.get(key); ok {
		_, cw.err = cw.w.Write(b)
		return cw.err
	}
	var buf bytes.Buffer
	if cw.err = Todo(t, cw.zones).SerializeTo(&buf, cw.cfg); cw.err == nil {
		encoded.put(key, buf.Bytes())
		_, cw.err = cw.w.Write(buf.Bytes())
	}
	return cw.err
}

// CacheBytes bounds the VTODOs kept encoded between requests (per process).
const CacheBytes = 64 << 20

// encoded keeps each task's VTODO as last encoded, by task id, version and
// updated_at: calendar apps poll, often without If-None-Match, and between
// two polls few tasks change. A VTODO depends on its task alone (its zone's
// TZID is the task's own series zone, which is always in the calendar's
// VTIMEZONEs), so the key decides the bytes. When full, it starts afresh.
var encoded = &vtodoCache{m: map[cacheKey][]byte{}}

type cacheKey struct {
	id      string
	version int64
	updated int64
}

type vtodoCache struct {
	mu    sync.Mutex
	m     map[cacheKey][]byte
	bytes int
}

func (c *vtodoCache) get(k cacheKey) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[k]
	return b, ok
}

func (c *vtodoCache) put(k cacheKey, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+len(b) > CacheBytes {
		c.m, c.bytes = map[cacheKey][]byte{}, 0
	}
	if _, ok := c.m[k]; !ok {
		c.m[k] = b
		c.bytes += len(b) + len(k.id)
	}
}

// Close ends the calendar and flushes it.
func (cw *Writer) Close() error {
	cw.line("END:VCALENDAR")
	if cw.err == nil {
		cw.err = cw.w.Flush()
	}
	return cw.err
}

// Priority is p as RFC 5545 §3.8.1.9 ranks it (1 highest, 9 lowest; 5
// "medium"): urgent 1, high 3, medium 5, low 9.
func Priority(p task.Priority) int {
	switch p {
	case task.Urgent:
		return 1
	case task.High:
		return 3
	case task.Low:
		return 9
	}
	return 5
}

// Reminders are the instants t reminds its user at, earliest first, each a
// VALARM: its reminders (task.Reminder.At, computed for relative ones), or
// reminder_time for a task read without them.
func Reminders(t task.Task) []time.Time {
	if len(t.Reminders) > 0 {
		return t.ReminderTimes()
	}
	if t.ReminderTime == nil {
		return nil
	}
	return []time.Time{*t.ReminderTime}
}

// Zone is the IANA zone of t's series, in which its DUE and DTSTART are
// written with a TZID; nil for a task without a series or whose series is
// in UTC (written in UTC, "…Z").
func Zone(t task.Task, zones map[string]*time.Location) *time.Location {
	if !t.IsRecurring || t.Recurrence == nil || t.Recurrence.Timezone == "" {
		return nil
	}
	return zones[t.Recurrence.Timezone]
}

// Todo is t as a VTODO (RFC 5545 §3.6.2): UID (the task id), DTSTAMP and
// LAST-MODIFIED (updated_at: without METHOD, DTSTAMP is the last revision,
// §3.8.7.2, so an unchanged task is written byte for byte the same), CREATED,
// SUMMARY, DESCRIPTION, STATUS NEEDS-ACTION, PRIORITY, one CATEGORIES per
// tag, DUE, for a series DTSTART (its anchor), RRULE and RELATED-TO, and a
// VALARM per reminder. zones holds the locations of the series' zones that
// have a VTIMEZONE in the calendar.
func Todo(t task.Task, zones map[string]*time.Location) *ics.VTodo {
	todo := ics.NewTodo(t.ID)
	todo.SetDtStampTime(t.UpdatedAt)
	todo.SetCreatedTime(t.CreatedAt)
	todo.SetModifiedAt(t.UpdatedAt)
	todo.SetSummary(text(t.Title))
	if t.Description != "" {
		todo.SetDescription(text(t.Description))
	}
	todo.SetStatus(ics.ObjectStatusNeedsAction)
	todo.SetPriority(Priority(t.Priority))
	for _, tag := range t.Tags {
		// One property per tag, its value escaped as TEXT (a semicolon
		// in a tag stays part of it).
		todo.AddCategory(text(tag))
	}
	loc := Zone(t, zones)
	if a := t.AllDay; a != nil && t.DueDate != nil {
		setDate(&todo.ComponentBase, ics.ComponentPropertyDue, a.Day())
	} else if t.DueDate != nil {
		setTime(&todo.ComponentBase, ics.ComponentPropertyDue, *t.DueDate, loc)
	}
	if t.IsRecurring && t.Recurrence != nil && t.DueDate != nil {
		if rule, start, ok := seriesFrom(t); ok {
			// DTSTART is this occurrence's due date, the same as DUE: a
			// recurring VTODO's instances each last DUE − DTSTART (RFC 5545
			// §3.6.2, §3.8.5.3), so an earlier DTSTART would push every
			// instance's due date late. Every occurrence of a series lies on
			// its rule, so the rule anchored here gives the series' later
			// occurrences exactly (API.md §5); COUNT is what is left of it.
			value := rule.String()
			if a := t.AllDay; a != nil {
				setDate(&todo.ComponentBase, ics.ComponentPropertyDtStart, a.Day())
				if !rule.Until.IsZero() {
					// A DATE series' UNTIL is a DATE too (§3.3.10): the
					// day the instant falls on in the task's zone.
					u := rule.Until.In(a.Location())
					value = strings.Replace(value, ";UNTIL="+rule.Until.UTC().Format("20060102T150405Z"),
						";UNTIL="+u.Format("20060102"), 1)
				}
			} else {
				setTime(&todo.ComponentBase, ics.ComponentPropertyDtStart, start, loc)
			}
			todo.AddRrule(value)
		}
		// RELATED-TO names the series id with RELTYPE=SIBLING: every
		// occurrence of a series carries the same one, so a client can group
		// them. Not PARENT (RELATED-TO's default): no component has that
		// UID, and Thunderbird and Tasks.org nest a task under its PARENT,
		// which would hide it under a parent they cannot find. The first
		// occurrence's series id is its own UID: a task is not its own sibling.
		if t.SeriesID != nil && *t.SeriesID != t.ID {
			todo.AddProperty(ics.ComponentPropertyRelatedTo, *t.SeriesID, &ics.KeyValues{Key: string(ics.ParameterReltype), Value: []string{"SIBLING"}})
		}
	}
	for _, at := range Reminders(t) {
		a := todo.AddAlarm()
		a.SetAction(ics.ActionDisplay)
		a.SetTrigger(at.UTC().Format(utcFormat), ics.WithValue(string(ics.ValueDataTypeDateTime)))
		a.SetProperty(ics.ComponentPropertyDescription, text(t.Title)) // required with DISPLAY (§3.6.6)
	}
	return todo
}

// seriesFrom is the rule of t's series as it goes on from t (DTSTART = t's
// due date), with COUNT reduced by the occurrences before t. ok is false
// when the series has no occurrence after t by COUNT. A task whose place in
// its series is unknown (stored before it was kept) is written from the
// series' anchor with the whole COUNT instead.
func seriesFrom(t task.Task) (rule rfc5545.Rule, start time.Time, ok bool) {
	rule, err := t.Recurrence.Rule()
	if err != nil {
		return rule, start, false
	}
	start = *t.DueDate
	if rule.Count > 0 {
		switch {
		case t.Occurrence >= rule.Count:
			return rule, start, false
		case t.Occurrence >= 1:
			rule.Count -= t.Occurrence - 1
		case t.SeriesStart != nil && t.AllDay == nil:
			start = *t.SeriesStart
		}
	}
	return rule, start, true
}

// setDate sets a DATE property ("DUE;VALUE=DATE:20310504"): day is the date
// at 00:00 UTC.
func setDate(c *ics.ComponentBase, p ics.ComponentProperty, day time.Time) {
	c.SetProperty(p, day.Format("20060102"), ics.WithValue(string(ics.ValueDataTypeDate)))
}

// setTime sets a DATE-TIME property: with TZID and local time in loc, or in
// UTC when loc is nil.
func setTime(c *ics.ComponentBase, p ics.ComponentProperty, at time.Time, loc *time.Location) {
	if loc == nil {
		c.SetProperty(p, at.UTC().Format(utcFormat))
		return
	}
	c.SetProperty(p, at.In(loc).Format(localFormat), ics.WithTZID(loc.String()))
}

// text is s as a TEXT value the library can escape: a CR LF or lone CR
// becomes a newline (escaped "\n"), and the control characters RFC 5545
// §3.3.11 excludes (all but HTAB and the newline) are dropped.
func text(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// offset is a UTC offset as RFC 5545 §3.3.14 writes it: "+0100", "-0330",
// "+053328" when it has seconds.
func offset(seconds int) string {
	sign := "+"
	if seconds < 0 {
		sign, seconds = "-", -seconds
	}
	s := sign + pad(seconds/3600) + pad(seconds/60%60)
	if seconds%60 != 0 {
		s += pad(seconds % 60)
	}
	return s
}

func pad(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
