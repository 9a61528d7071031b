package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
)

// AuditEntry is one event in a task's history.
type AuditEntry struct {
	EventID string                   `json:"event_id"`
	Type    string                   `json:"type"`
	Time    time.Time                `json:"time"`
	Changes map[string]events.Change `json:"changes"`
	// Source is the event's CloudEvent source, the function that made the
	// change; nil for an entry recorded before sources were kept.
	Source *string `json:"source"`
	// Actor is who that was (events.ActorOf): "user", "agent",
	// "recurrence", or nil when not known.
	Actor *string `json:"actor"`
}

// RecordAudit stores an event of the user's task once per event id, with its
// Source (Actor is derived on reading); it reports false for an event
// recorded before.
func (s *Store) RecordAudit(ctx context.Context, user, taskID string, e AuditEntry) (bool, error) {
	changes, _ := json.Marshal(e.Changes)
	tag, err := s.pool.Exec(ctx, `INSERT INTO audit_events (event_id, user_id, task_id, type, time, changes, source)
		VALUES (@event_id, @user_id, @task_id, @type, @time, @changes, @source) ON CONFLICT (event_id) DO NOTHING`,
		pgx.NamedArgs{"event_id": e.EventID, "user_id": user, "task_id": taskID, "type": e.Type, "time": e.Time,
			"changes": changes, "source": e.Source})
	if err != nil {
		return false, dbErr(err)
	}
	return tag.RowsAffected() == 1, nil
}

// History returns the user's task's events, oldest first, at most limit;
// errs.ErrNotFound when there are none (no such task for this user).
func (s *Store) History(ctx context.Context, user, taskID string, limit int) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT event_id, type, time, changes, source FROM audit_events
		WHERE user_id = $1 AND task_id = $2 ORDER BY time, event_id LIMIT $3`, user, taskID, limit)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		var changes []byte
		err := r.Scan(&e.EventID, &e.Type, &e.Time, &changes, &e.Source)
		e.Time = e.Time.UTC()
		if e.Source != nil {
			if a := events.ActorOf(*e.Source); a != "" {
				e.Actor = &a
			}
		}
		if err == nil {
			err = json.Unmarshal(changes, &e.Changes)
		}
		return e, err
	})
	if err != nil {
		return nil, dbErr(err)
	}
	if len(out) == 0 {
		return nil, errs.ErrNotFound
	}
	return out, nil
}
