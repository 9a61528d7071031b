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
	first, err := s.RecordAudits(ctx, []AuditRecord{{User: user, TaskID: taskID, Entry: e}})
	if err != nil {
		return false, err
	}
	return first[0], nil
}

// AuditRecord is one entry of RecordAudits: an event of the user's task.
type AuditRecord struct {
	User, TaskID string
	Entry        AuditEntry
}

// recordAudits inserts the rows given as parallel arrays, each once per
// event id, and returns the ids it inserted.
const recordAudits = `INSERT INTO audit_events (event_id, user_id, task_id, type, time, changes, source)
	SELECT r.event_id, r.user_id, r.task_id, r.type, r.time, r.changes::jsonb, r.source
	FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::timestamptz[], $6::text[], $7::text[])
		AS r(event_id, user_id, task_id, type, time, changes, source)
	ON CONFLICT (event_id) DO NOTHING RETURNING event_id`

// RecordAudits stores every record in one statement, one commit, each once
// per event id: all or none. It reports, for each record in order, whether it
// was new (false for an event recorded before, or given twice in recs after
// its first time). Errors are the store's (dbErr): an unreachable database
// is errs.ErrUnavailable.
func (s *Store) RecordAudits(ctx context.Context, recs []AuditRecord) ([]bool, error) {
	n := len(recs)
	ids, users, tasks, types := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	times, changes, sources := make([]time.Time, n), make([]string, n), make([]*string, n)
	for i, r := range recs {
		c, _ := json.Marshal(r.Entry.Changes)
		ids[i], users[i], tasks[i], types[i] = r.Entry.EventID, r.User, r.TaskID, r.Entry.Type
		times[i], changes[i], sources[i] = r.Entry.Time, string(c), r.Entry.Source
	}
	rows, err := s.pool.Query(ctx, recordAudits, ids, users, tasks, types, times, changes, sources)
	if err != nil {
		return nil, dbErr(err)
	}
	inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, dbErr(err)
	}
	fresh := make(map[string]bool, len(inserted))
	for _, id := range inserted {
		fresh[id] = true
	}
	out := make([]bool, n)
	for i, id := range ids {
		out[i] = fresh[id]
		delete(fresh, id) // a second record of the same event is not new
	}
	return out, nil
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
