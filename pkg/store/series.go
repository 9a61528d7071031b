package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/ops"
)

// Processed records that consumer handled event id in tx; false means it
// had already, and the caller must do nothing more.
func Processed(ctx context.Context, tx pgx.Tx, consumer, eventID string) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, consumer, eventID)
	return tag.RowsAffected() == 1, err
}

// insertSuccessor inserts a task as the successor of @predecessor_id, unless
// that occurrence has one already.
const insertSuccessor = `INSERT INTO tasks (id, user_id, title, description, status, priority, tags, tag_keys,
		due_date, reminder_time, is_recurring, recurrence, series_id, completed_at, created_at, updated_at,
		series_start, occurrence, predecessor_id, due_day, due_zone, due_end, due_base_minutes, reminders,
		reminder_times)
	VALUES (@id, @user_id, @title, @description, @status, @priority, @tags, @tag_keys, @due_date,
		@reminder_time, @is_recurring, @recurrence, @series_id, NULL, @created_at, @updated_at, @series_start,
		@occurrence, @predecessor_id, @due_day::date, @due_zone, @due_end, @due_base_minutes, @reminders,
		@reminder_times)
	ON CONFLICT (predecessor_id) DO NOTHING RETURNING ` + taskColumns

// CreateSuccessor records event eventID as processed by consumer and, when
// next is not nil, stores it (ops.Successor) as the successor of predecessor
// with its events, all in one transaction. The unique predecessor makes a
// second successor impossible, whatever the deliveries, races or reopenings.
// A predecessor that no longer recurs when the successor would be stored
// gets none: its series was ended (POST /api/tasks/{id}/end-series, or
// is_recurring set false) after the event was written, which happens when
// it was reopened and then ended. The predecessor's row is locked (FOR
// SHARE) for that check, and every change to a task locks it FOR UPDATE
// (Store.Update), so the two are ordered: an end that commits first is
// seen here; one that comes after finds the successor made, as a reopening
// does. It reports whether a task was created.
func (s *Store) CreateSuccessor(ctx context.Context, consumer, eventID, predecessor string, next *ops.Write) (bool, error) {
	created := false
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		first, err := Processed(ctx, tx, consumer, eventID)
		if err != nil || !first || next == nil {
			return err
		}
		var recurs bool
		err = tx.QueryRow(ctx, `SELECT is_recurring FROM tasks WHERE id = $1 FOR SHARE`, predecessor).Scan(&recurs)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			// Deleted since: its completion still makes the successor.
		case err != nil:
			return err
		case !recurs:
			return nil // the series was ended
		}
		tags, err := canonicalTags(ctx, tx, next.Task.UserID, next.Task.Tags)
		if err != nil {
			return err
		}
		w := withTags(*next, tags)
		args := rowArgs(w)
		args["predecessor_id"] = predecessor
		if _, err := scanTask(tx.QueryRow(ctx, insertSuccessor, args)); errors.Is(err, pgx.ErrNoRows) {
			return nil // the occurrence has its successor already
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `WITH counted AS (`+countTags+`) `+upsertTags, args); err != nil {
			return err
		}
		created = true
		return s.writeEvents(ctx, tx, w.Events)
	})
	return created, err
}
