package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/task"
)

// Reminder is one pending reminder: one of a task's reminders (N is its
// position among them by instant, 0..task.MaxReminders-1, which names its
// job), or a snoozed notification firing again (NotificationID set).
type Reminder struct {
	TaskID         string    `json:"task_id"`
	UserID         string    `json:"user_id"`
	RemindAt       time.Time `json:"remind_at"`
	N              int       `json:"n"`
	NotificationID string    `json:"notification_id,omitempty"`
	// Fired is set by TaskReminders for an instant that fired already.
	Fired bool `json:"-"`
}

// TaskReminders is the reminders of the user's task as they are now, by
// instant, each marked Fired when it fired already. A task that is not
// active, or not there, has none.
func (s *Store) TaskReminders(ctx context.Context, user, id string) ([]Reminder, error) {
	rows, err := s.pool.Query(ctx, `SELECT r.at, (r.n - 1)::int,
			EXISTS (SELECT 1 FROM reminders_fired f WHERE f.task_id = t.id AND f.remind_at = r.at)
		FROM tasks t, unnest(t.reminder_times) WITH ORDINALITY AS r(at, n)
		WHERE t.user_id = $1 AND t.id = $2 AND t.status = 'active' ORDER BY r.n`, user, id)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Reminder, error) {
		x := Reminder{TaskID: id, UserID: user}
		err := r.Scan(&x.RemindAt, &x.N, &x.Fired)
		x.RemindAt = x.RemindAt.UTC()
		return x, err
	})
	return out, dbErr(err)
}

// PendingReminders lists up to limit unfired reminders due after since:
// those of active tasks, then the pending snoozes of active tasks.
func (s *Store) PendingReminders(ctx context.Context, since time.Time, limit int) ([]Reminder, error) {
	rows, err := s.pool.Query(ctx, `SELECT * FROM (
			SELECT t.id::text, t.user_id, r.at, (r.n - 1)::int, ''
			FROM tasks t, unnest(t.reminder_times) WITH ORDINALITY AS r(at, n)
			WHERE t.status = 'active' AND t.reminder_time IS NOT NULL AND r.at > $1
			AND NOT EXISTS (SELECT 1 FROM reminders_fired f WHERE f.task_id = t.id AND f.remind_at = r.at)
			UNION ALL
			SELECT z.task_id::text, z.user_id, z.until, 0, z.notification_id::text
			FROM notification_snoozes z JOIN tasks t ON t.id = z.task_id AND t.user_id = z.user_id
			WHERE z.fired_at IS NULL AND z.until > $1 AND t.status = 'active'
		) p ORDER BY 3 LIMIT $2`, since, limit)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Reminder, error) {
		var x Reminder
		err := r.Scan(&x.TaskID, &x.UserID, &x.RemindAt, &x.N, &x.NotificationID)
		x.RemindAt = x.RemindAt.UTC()
		return x, err
	})
	return out, dbErr(err)
}

// FireReminder emits reminder.due for r, once, if it is still current: the
// task is active and r's instant is still one of its reminders' (for a
// snooze: the snooze is still pending at r's instant). It reports whether it
// fired.
func (s *Store) FireReminder(ctx context.Context, r Reminder, now time.Time) (bool, error) {
	fired := false
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if r.NotificationID != "" {
			var until time.Time
			err := tx.QueryRow(ctx, `SELECT until FROM notification_snoozes WHERE notification_id = $1
				AND user_id = $2 AND task_id = $3 AND fired_at IS NULL FOR UPDATE`, r.NotificationID, r.UserID, r.TaskID).Scan(&until)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // fired already, or gone with its notification
			}
			if err != nil {
				return err
			}
			if !until.Equal(r.RemindAt) {
				return nil // moved since it was scheduled
			}
		}
		t, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks
			WHERE user_id = $1 AND id = $2 FOR UPDATE`, r.UserID, r.TaskID))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // deleted: nothing to remind of
		}
		if err != nil {
			return err
		}
		if t.Status != task.Active {
			return nil // completed since it was scheduled
		}
		if r.NotificationID != "" {
			// The snooze's own row records that it fired: its instant may be
			// one a reminder of the task fired at before.
			if _, err := tx.Exec(ctx, `UPDATE notification_snoozes SET fired_at = $2 WHERE notification_id = $1`,
				r.NotificationID, now); err != nil {
				return err
			}
		} else {
			if !slices.ContainsFunc(t.ReminderTimes(), r.RemindAt.Equal) {
				return nil // moved or removed since it was scheduled
			}
			tag, err := tx.Exec(ctx, `INSERT INTO reminders_fired (task_id, remind_at, fired_at) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, t.ID, r.RemindAt, now)
			if err != nil || tag.RowsAffected() == 0 {
				return err
			}
		}
		id, _ := uuid.NewV7()
		data, _ := json.Marshal(events.ReminderData{TaskID: t.ID, UserID: t.UserID, Title: t.Title, DueDate: t.DueDate,
			RemindAt: r.RemindAt, FiredAt: now.UTC(), SnoozedFrom: r.NotificationID})
		fired = true
		return s.writeEvents(ctx, tx, []events.Event{{ID: id.String(), Type: events.ReminderDue, Source: s.Source,
			Subject: t.ID, Time: now.UTC(), Data: data, Topics: []string{events.TopicReminders}}})
	})
	return fired, err
}

// Snooze sets the user's notification id to fire again at until (replacing
// a pending snooze of it) and stores its reminder.snoozed event, in one
// transaction; it returns the notification with SnoozedUntil. An unknown
// or another user's notification is errs.ErrNotFound; one whose task is gone
// or no longer active is errs.ErrConflict.
func (s *Store) Snooze(ctx context.Context, user, id string, until time.Time) (events.Notification, error) {
	var out events.Notification
	until = until.UTC().Truncate(time.Microsecond)
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		n, err := scanNotification(tx.QueryRow(ctx, `SELECT `+notificationColumns+` FROM notifications
			WHERE user_id = $1 AND id = $2 FOR UPDATE`, user, id))
		if err != nil {
			return err
		}
		var active bool
		err = tx.QueryRow(ctx, `SELECT status = 'active' FROM tasks WHERE user_id = $1 AND id = $2`, user, n.TaskID).Scan(&active)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !active) {
			return errs.With(errs.ErrConflict, "the notification's task is deleted or no longer active")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO notification_snoozes (notification_id, user_id, task_id, until)
			VALUES ($1, $2, $3, $4) ON CONFLICT (notification_id) DO UPDATE
			SET until = EXCLUDED.until, fired_at = NULL, created_at = now()`, n.ID, user, n.TaskID, until); err != nil {
			return err
		}
		evID, _ := uuid.NewV7()
		data, _ := json.Marshal(events.SnoozeData{NotificationID: n.ID, TaskID: n.TaskID, UserID: user, Until: until})
		if err := s.writeEvents(ctx, tx, []events.Event{{ID: evID.String(), Type: events.ReminderSnoozed, Source: s.Source,
			Subject: n.TaskID, Time: time.Now().UTC(), Data: data, Topics: []string{events.TopicReminders}}}); err != nil {
			return err
		}
		n.SnoozedUntil = &until
		out = n
		return nil
	})
	return out, dbErr(err)
}

// PendingSnooze is the user's snooze of notification id still to fire (its
// task active), or nil.
func (s *Store) PendingSnooze(ctx context.Context, user, id string) (*Reminder, error) {
	r := Reminder{UserID: user, NotificationID: id}
	err := s.pool.QueryRow(ctx, `SELECT z.task_id::text, z.until FROM notification_snoozes z
		JOIN tasks t ON t.id = z.task_id AND t.user_id = z.user_id
		WHERE z.user_id = $1 AND z.notification_id = $2 AND z.fired_at IS NULL AND t.status = 'active'`,
		user, id).Scan(&r.TaskID, &r.RemindAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, dbErr(err)
	}
	r.RemindAt = r.RemindAt.UTC()
	return &r, nil
}
