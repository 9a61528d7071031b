package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/task"
)

// Reminder is a task's pending reminder.
type Reminder struct {
	TaskID   string    `json:"task_id"`
	UserID   string    `json:"user_id"`
	RemindAt time.Time `json:"remind_at"`
}

// PendingReminder is the reminder t still has to fire, if any: an active
// task with a reminder time not fired yet. It is read inside the caller's
// view of the task, so it never trusts an event's possibly stale copy.
func (s *Store) PendingReminder(ctx context.Context, user, id string) (*Reminder, error) {
	var r Reminder
	err := s.pool.QueryRow(ctx, `SELECT t.id::text, t.user_id, t.reminder_time FROM tasks t
		WHERE t.user_id = $1 AND t.id = $2 AND t.status = 'active' AND t.reminder_time IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM reminders_fired f WHERE f.task_id = t.id AND f.remind_at = t.reminder_time)`,
		user, id).Scan(&r.TaskID, &r.UserID, &r.RemindAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, dbErr(err)
	}
	r.RemindAt = r.RemindAt.UTC()
	return &r, nil
}

// PendingReminders lists up to limit unfired reminders due after since.
func (s *Store) PendingReminders(ctx context.Context, since time.Time, limit int) ([]Reminder, error) {
	rows, err := s.pool.Query(ctx, `SELECT t.id::text, t.user_id, t.reminder_time FROM tasks t
		WHERE t.status = 'active' AND t.reminder_time IS NOT NULL AND t.reminder_time > $1
		AND NOT EXISTS (SELECT 1 FROM reminders_fired f WHERE f.task_id = t.id AND f.remind_at = t.reminder_time)
		ORDER BY t.reminder_time LIMIT $2`, since, limit)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Reminder, error) {
		var x Reminder
		err := r.Scan(&x.TaskID, &x.UserID, &x.RemindAt)
		x.RemindAt = x.RemindAt.UTC()
		return x, err
	})
	return out, dbErr(err)
}

// FireReminder emits reminder.due for r, once, if it is still current: the
// task is active and its reminder time is r's. It reports whether it fired.
func (s *Store) FireReminder(ctx context.Context, r Reminder, now time.Time) (bool, error) {
	fired := false
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		t, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks
			WHERE user_id = $1 AND id = $2 FOR UPDATE`, r.UserID, r.TaskID))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // deleted: nothing to remind of
		}
		if err != nil {
			return err
		}
		if t.Status != task.Active || t.ReminderTime == nil || !t.ReminderTime.Equal(r.RemindAt) {
			return nil // completed or moved since it was scheduled
		}
		tag, err := tx.Exec(ctx, `INSERT INTO reminders_fired (task_id, remind_at, fired_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, t.ID, r.RemindAt, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		id, _ := uuid.NewV7()
		data, _ := json.Marshal(events.ReminderData{TaskID: t.ID, UserID: t.UserID, Title: t.Title, DueDate: t.DueDate,
			RemindAt: r.RemindAt, FiredAt: now.UTC()})
		fired = true
		return s.writeEvents(ctx, tx, []events.Event{{ID: id.String(), Type: events.ReminderDue, Source: s.Source,
			Subject: t.ID, Time: now.UTC(), Data: data, Topics: []string{events.TopicReminders}}})
	})
	return fired, err
}
