package store

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/task"
)

// Processed records that consumer handled event id in tx; false means it
// had already, and the caller must do nothing more.
func Processed(ctx context.Context, tx pgx.Tx, consumer, eventID string) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, consumer, eventID)
	return tag.RowsAffected() == 1, err
}

// CreateSuccessor records event eventID as processed by consumer and, when
// next is not nil, inserts it as the successor of predecessor with its
// task.created event, all in one transaction. The unique predecessor makes
// a second successor impossible, whatever the deliveries, races or reopenings.
// It reports whether a task was created.
func (s *Store) CreateSuccessor(ctx context.Context, consumer, eventID, predecessor string, next *task.Task) (bool, error) {
	created := false
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		first, err := Processed(ctx, tx, consumer, eventID)
		if err != nil || !first || next == nil {
			return err
		}
		t := microseconds(*next)
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		t.ID, t.Version = id.String(), 1
		if t.Tags, err = canonicalTags(ctx, tx, t.UserID, t.Tags); err != nil {
			return err
		}
		out, err := scanTask(tx.QueryRow(ctx, `INSERT INTO tasks (id, user_id, title, description, status, priority,
				tags, tag_keys, due_date, reminder_time, is_recurring, recurrence, series_id, completed_at,
				created_at, updated_at, series_start, predecessor_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, $14, $14, $15, $16)
			ON CONFLICT (predecessor_id) DO NOTHING RETURNING `+taskColumns,
			t.ID, t.UserID, t.Title, t.Description, t.Status, t.Priority.Rank(), t.Tags, tagKeys(t.Tags),
			t.DueDate, t.ReminderTime, t.IsRecurring, recurrenceJSON(t.Recurrence), t.SeriesID, t.CreatedAt,
			t.SeriesStart, predecessor))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // the occurrence has its successor already
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, upsertTags("$1", "$2", "$3"), t.UserID, out.Tags, tagColors(out.Tags)); err != nil {
			return err
		}
		created = true
		return writeEvents(ctx, tx, events.Created(s.Source, out))
	})
	return created, err
}
