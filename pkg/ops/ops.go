// Package ops holds the pure step of every write to a task. Given what was
// asked (a request body, a completion, a delete) and the task as it is, a step
// decides everything the write stores: the row, with its id, version and
// series id, and its times at the precision PostgreSQL keeps; the default
// colours of its tags; and the events the change emits, in order. Every
// caller of an operation, REST handler or event consumer, goes through the
// same step, and the store only runs the SQL and writes the outbox.
//
// The steps live here rather than in pkg/task or pkg/events because they need
// both: task is the domain model and must not know about events (events
// imports task), and events says what each event is, not which writes make
// it. Nothing here does I/O and the clock is passed in; ids (UUIDv7) are drawn
// here, as events draws its event ids.
//
// One input is only known inside the store's transaction: how the user first
// spelled each tag ("Work" stays "Work" after someone writes "work"). The
// store passes it back through Write.WithTags, which derives the colours and
// events again from the tags as stored.
package ops

import (
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/task"
)

// Write is what one operation stores, in one transaction.
type Write struct {
	// Task is the row as it will be stored: id and series id assigned, times
	// in UTC at microseconds, so that the events show what a GET shows.
	// Version is the one the row will have.
	Task task.Task
	// Colors is the default colour of each of Task.Tags, kept for the tags
	// that are new to the user.
	Colors []string
	// Events are the change's events in the order the outbox keeps them.
	// Their Source is left empty: it names the function that writes them,
	// which the store knows.
	Events []events.Event
	// TagDeltas is what the write changes in the number of the user's tasks
	// carrying each tag key: +1 for a key the task gains, -1 for one it
	// loses. Each key once, sorted, none zero; empty when the tags stay.
	TagDeltas []TagDelta

	kind kind
	prev task.Task // the task before a change
}

// TagDelta is the change of one tag key's task count.
type TagDelta struct {
	Key string
	N   int64
}

// CountShards is the number of rows a (user, tag key) count is spread over,
// so that concurrent writes with the same tag do not queue on one row lock.
const CountShards = 8

// Shard is the counter row w adds its TagDeltas to: a hash of the task id,
// so concurrent creates spread over the shards (a UUIDv7's low bits are
// random) and a task's writes keep to one.
func (w Write) Shard() int {
	h := fnv.New32a()
	h.Write([]byte(w.Task.ID))
	return int(h.Sum32() % CountShards)
}

type kind int

const (
	inserted kind = iota
	changed
	deleted
)

// WithTags returns w with its task's tags replaced by tags (the same tags as
// the user first spelled them, which the store reads in its transaction) and
// its colours and events derived again from them. A delete's tags are the
// stored ones already, so it is returned as it is.
func (w Write) WithTags(tags []string) Write {
	if w.kind == deleted {
		return w
	}
	w.Task.Tags = tags
	return w.derive()
}

// derive sets w's colours and events from its task.
func (w Write) derive() Write {
	w.Colors = TagColors(w.Task.Tags)
	switch w.kind {
	case inserted:
		w.Events = events.Created("", w.Task)
	case changed:
		w.Events = events.Changed("", w.prev, w.Task)
	}
	w.TagDeltas = w.tagDeltas()
	return w
}

// tagDeltas compares the tag keys of the task before and after w: none
// before an insert, none after a delete.
func (w Write) tagDeltas() []TagDelta {
	var before, after []string
	switch w.kind {
	case inserted:
		after = w.Task.Tags
	case changed:
		before, after = w.prev.Tags, w.Task.Tags
	case deleted:
		before = w.Task.Tags
	}
	n := map[string]int64{}
	for _, k := range distinctKeys(before) {
		n[k]--
	}
	for _, k := range distinctKeys(after) {
		n[k]++
	}
	var out []TagDelta
	for k, d := range n {
		if d != 0 {
			out = append(out, TagDelta{k, d})
		}
	}
	slices.SortFunc(out, func(a, b TagDelta) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// distinctKeys is the set of tags' keys: a task with "Work" and "work"
// counts once for "work", as filtering by tag finds it once.
func distinctKeys(tags []string) []string {
	keys := make([]string, 0, len(tags))
	for _, t := range tags {
		if k := task.TagKey(t); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// Insert is the write that stores t as a new task: a new id, version 1,
// updated when created, and a recurring task without a series starts its
// own, named by its id.
func Insert(t task.Task) Write { return insert(t, true) }

// insert is Insert; a successor (startSeries false) keeps its predecessor's
// series id, whatever it is.
func insert(t task.Task, startSeries bool) Write {
	t = normalise(t)
	t.ID, t.Version, t.UpdatedAt = uuid.Must(uuid.NewV7()).String(), 1, t.CreatedAt
	if startSeries {
		ownSeries(&t)
	}
	return Write{Task: t, kind: inserted}.derive()
}

// Change is the write that takes cur, as stored, to next: next gets cur's
// version plus one and, when it recurs without a series, a series named by
// its id. Its events are events.Changed from cur to next.
func Change(cur, next task.Task) Write {
	next = normalise(next)
	next.Version = cur.Version + 1
	ownSeries(&next)
	return Write{Task: next, kind: changed, prev: cur}.derive()
}

// Delete is the write that removes cur, as stored, at now: its task.deleted
// event.
func Delete(cur task.Task, now time.Time) Write {
	w := Write{Task: cur, kind: deleted, Events: events.Deleted("", cur, now)}
	w.TagDeltas = w.tagDeltas()
	return w
}

// ownSeries names a recurring task's series by the task's id unless it has one.
func ownSeries(t *task.Task) {
	if t.IsRecurring && t.SeriesID == nil {
		sid := t.ID
		t.SeriesID = &sid
	}
}

// normalise puts t's times in UTC at microseconds, as PostgreSQL keeps them,
// so that the events derived from t show what reading the row back shows.
func normalise(t task.Task) task.Task {
	norm := func(p *time.Time) *time.Time {
		if p == nil {
			return nil
		}
		v := p.UTC().Truncate(time.Microsecond)
		return &v
	}
	t.DueDate, t.ReminderTime, t.CompletedAt = norm(t.DueDate), norm(t.ReminderTime), norm(t.CompletedAt)
	t.SeriesStart = norm(t.SeriesStart)
	if t.AllDay != nil {
		a := *t.AllDay
		a.End = *norm(&a.End)
		t.AllDay = &a
	}
	if t.Reminders == nil && t.ReminderTime != nil { // built with reminder_time alone: its one reminder
		t.Reminders = []task.Reminder{{At: *t.ReminderTime}}
	}
	if t.Reminders != nil {
		rs := make([]task.Reminder, len(t.Reminders))
		for i, r := range t.Reminders {
			rs[i] = task.Reminder{BeforeDue: r.BeforeDue, At: *norm(&r.At)}
		}
		t.Reminders = rs
	}
	t.CreatedAt, t.UpdatedAt = *norm(&t.CreatedAt), *norm(&t.UpdatedAt)
	if t.Recurrence != nil && t.Recurrence.EndDate != nil {
		r := *t.Recurrence
		r.EndDate = norm(r.EndDate)
		t.Recurrence = &r
	}
	return t
}

// palette is the colours a new tag is given; TagColor picks one by a hash of
// the tag's key, so a tag has the same colour for every user and every time.
var palette = []string{"#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#4b5563"}

// TagColor is the default colour of tag, the same for every spelling of it.
func TagColor(tag string) string {
	h := fnv.New32a()
	h.Write([]byte(task.TagKey(tag)))
	return palette[h.Sum32()%uint32(len(palette))]
}

// TagColors is TagColor of each of tags.
func TagColors(tags []string) []string {
	colors := make([]string, len(tags))
	for i, t := range tags {
		colors[i] = TagColor(t)
	}
	return colors
}
