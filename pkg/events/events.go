// Package events defines TaskFlow's CloudEvents (API.md §6): their types,
// topics and versioned payloads, and the pure functions that derive the
// events of a change from the task before and after it.
package events

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/taskflow/taskflow/pkg/task"
)

// Event types.
const (
	TaskCreated   = "dev.taskflow.task.created"
	TaskUpdated   = "dev.taskflow.task.updated"
	TaskCompleted = "dev.taskflow.task.completed"
	// TaskSkipped: an occurrence of a series was skipped (POST
	// /api/tasks/{id}/skip); its data is as task.completed's, and the
	// recurrence function makes its successor as for a completion.
	TaskSkipped = "dev.taskflow.task.skipped"
	TaskDeleted = "dev.taskflow.task.deleted"
	ReminderDue = "dev.taskflow.reminder.due"
	TaskCreate  = "dev.taskflow.task.create" // a command: another system asks for a task
)

// Topics and their partition counts.
const (
	TopicTaskEvents  = "task-events"
	TopicReminders   = "reminders"
	TopicTaskUpdates = "task-updates"
)

// Partitions is how many partitions each topic has.
var Partitions = map[string]int32{TopicTaskEvents: 3, TopicReminders: 1, TopicTaskUpdates: 3}

// Event is one CloudEvent as the outbox stores it.
type Event struct {
	ID      string          // unique, stable across redelivery
	Type    string          // one of the constants above
	Source  string          // the emitting function, "/taskflow/<name>"
	Subject string          // the task id; also the Kafka key
	Time    time.Time       // when the change committed
	Data    json.RawMessage // the payload, JSON
	Topics  []string        // where the relay publishes it
	// TraceParent and TraceState are the W3C trace context of the change
	// that caused the event (the CloudEvents distributed tracing extension).
	TraceParent string
	TraceState  string
	// Extensions are further CloudEvent extension attributes of the event
	// (name → value), for Triggers to filter on: see ExtReminder.
	Extensions map[string]string
}

// ExtReminder is the extension attribute a task.* event carries, with the
// value "true", when the change touches a reminder: the task before or after
// it has a reminder_time (one set, moved or cleared; a task with one created,
// changed, completed or deleted). Events without it concern no reminder, so
// the reminder function's Triggers filter on it and are not sent the rest.
const ExtReminder = "taskflowreminder"

// touchesReminder reports whether a change from before (nil for a new task)
// to after (nil for a deleted one) concerns a reminder.
func touchesReminder(before, after *task.Task) bool {
	return (before != nil && before.ReminderTime != nil) || (after != nil && after.ReminderTime != nil)
}

// withReminder marks e as touching a reminder when it does.
func withReminder(e Event, touches bool) Event {
	if touches {
		e.Extensions = map[string]string{ExtReminder: "true"}
	}
	return e
}

// TaskData is the payload of the task.* events (version 1).
type TaskData struct {
	Task     task.Task  `json:"task"`
	Previous *task.Task `json:"previous,omitempty"`
	UserID   string     `json:"user_id"`
	// SeriesStart is the task's series anchor (DTSTART), for the recurrence function.
	SeriesStart *time.Time `json:"series_start,omitempty"`
	// Occurrence is the task's position in its series (task.Task.Occurrence),
	// for the recurrence function; absent when unknown.
	Occurrence int `json:"occurrence,omitempty"`
	// AllDay is the all-day task's zone, day end and reminder base (its
	// due_date shows only the date): task.Task.RestoreAllDay reads it back.
	AllDay *task.AllDay `json:"all_day,omitempty"`
}

// Encoded reports an event whose payload did not encode (taskEvent leaves
// Data empty then): such an event must not be stored, or it would carry no
// data to every consumer.
func Encoded(evs []Event) error {
	for _, e := range evs {
		if len(e.Data) == 0 {
			return fmt.Errorf("event %s of %s: payload does not encode", e.Type, e.Subject)
		}
	}
	return nil
}

// Source names a function as an event source.
func Source(function string) string { return "/taskflow/" + function }

// Who made a change, as a task's history tells it.
const (
	ActorUser       = "user"       // a person, through the web app or the REST API
	ActorAgent      = "agent"      // an AI agent over MCP
	ActorRecurrence = "recurrence" // TaskFlow, making a series' next occurrence
)

// ActorOf says who made the change an event of source records: ActorUser,
// ActorAgent or ActorRecurrence, or "" for a source it does not know (or
// none, as for history recorded before sources were kept).
func ActorOf(source string) string {
	switch source {
	case Source("create"), Source("update"), Source("complete"), Source("delete"):
		return ActorUser
	case Source("mcp"):
		return ActorAgent
	case Source("recurrence"):
		return ActorRecurrence
	}
	return ""
}

func taskEvent(typ, source string, t task.Task, prev *task.Task, at time.Time) Event {
	id, _ := uuid.NewV7()
	data, _ := json.Marshal(TaskData{Task: t, Previous: prev, UserID: t.UserID, SeriesStart: t.SeriesStart,
		Occurrence: t.Occurrence, AllDay: t.AllDay})
	return Event{ID: id.String(), Type: typ, Source: source, Subject: t.ID, Time: at.UTC(), Data: data,
		Topics: []string{TopicTaskEvents, TopicTaskUpdates}}
}

// Created is the event of a new task.
func Created(source string, t task.Task) []Event {
	return []Event{withReminder(taskEvent(TaskCreated, source, t, nil, t.CreatedAt), touchesReminder(nil, &t))}
}

// Changed derives the events of a change from prev to next: task.completed
// when it became completed, task.skipped when it became skipped, task.updated
// when anything else changed (reopening included).
func Changed(source string, prev, next task.Task) []Event {
	var out []Event
	reminder := touchesReminder(&prev, &next)
	done := ""
	switch {
	case prev.Status != task.Completed && next.Status == task.Completed:
		done = TaskCompleted
	case prev.Status != task.Skipped && next.Status == task.Skipped:
		done = TaskSkipped
	}
	rest := next
	if done != "" {
		rest.Status, rest.CompletedAt = prev.Status, prev.CompletedAt
	}
	if !rest.Equal(prev) {
		p := prev
		out = append(out, withReminder(taskEvent(TaskUpdated, source, next, &p, next.UpdatedAt), reminder))
	}
	if done != "" {
		out = append(out, withReminder(taskEvent(done, source, next, nil, next.UpdatedAt), reminder))
	}
	return out
}

// Deleted is the event of a deleted task.
func Deleted(source string, t task.Task, at time.Time) []Event {
	return []Event{withReminder(taskEvent(TaskDeleted, source, t, nil, at), touchesReminder(&t, nil))}
}

// NotificationCreated is published on task-updates (for the live stream) and
// posted to the notification webhook when a reminder became a notification.
const NotificationCreated = "dev.taskflow.notification.created"

// ReminderData is the payload of reminder.due (API.md §6).
type ReminderData struct {
	TaskID   string     `json:"task_id"`
	UserID   string     `json:"user_id"`
	Title    string     `json:"title"`
	DueDate  *time.Time `json:"due_date"`
	RemindAt time.Time  `json:"remind_at"`
	FiredAt  time.Time  `json:"fired_at"`
	// SnoozedFrom is, for a snoozed notification firing again, that
	// notification's id; absent otherwise.
	SnoozedFrom string `json:"snoozed_from,omitempty"`
}

// ReminderSnoozed is published on the reminders topic when a user snoozed a
// notification: the reminder function schedules its job (snooze-<id>).
const ReminderSnoozed = "dev.taskflow.reminder.snoozed"

// SnoozeData is the payload of reminder.snoozed.
type SnoozeData struct {
	NotificationID string    `json:"notification_id"`
	TaskID         string    `json:"task_id"`
	UserID         string    `json:"user_id"`
	Until          time.Time `json:"until"`
}

// Notification is an in-app notification as the API shows it.
type Notification struct {
	ID          string    `json:"id"`
	UserID      string    `json:"-"`
	TaskID      string    `json:"task_id"`
	Title       string    `json:"title"`
	Message     string    `json:"message"`
	RemindAt    time.Time `json:"remind_at"`
	DeliveredAt time.Time `json:"delivered_at"`
	Read        bool      `json:"read"`
	// SnoozedUntil is when a pending snooze fires it again; nil when not snoozed.
	SnoozedUntil *time.Time `json:"snoozed_until"`
}

// NotificationData is the payload of notification.created.
type NotificationData struct {
	Notification Notification `json:"notification"`
	UserID       string       `json:"user_id"`
}

// Notified is the event of a new notification, keyed by its task.
func Notified(source string, n Notification) Event {
	id, _ := uuid.NewV7()
	data, _ := json.Marshal(NotificationData{Notification: n, UserID: n.UserID})
	return Event{ID: id.String(), Type: NotificationCreated, Source: source, Subject: n.TaskID, Time: n.DeliveredAt,
		Data: data, Topics: []string{TopicTaskUpdates}}
}
