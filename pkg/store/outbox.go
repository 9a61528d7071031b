package store

import (
	"cmp"
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// outboxCTE inserts the events passed as a JSON array in parameter param; it
// is the WITH part of the statement that makes the change, so both commit
// together.
func outboxCTE(param string) string {
	return `INSERT INTO outbox (event_id, type, source, subject, topics, time, data, traceparent, tracestate, extensions)
		SELECT e.id, e.type, e.source, e.subject, e.topics, e.time, e.data, e.traceparent, e.tracestate, e.extensions
		FROM jsonb_to_recordset(` + param + `::jsonb) AS e(id uuid, type text, source text, subject text,
			topics text[], time timestamptz, data text, traceparent text, tracestate text, extensions jsonb)`
}

type outboxRow struct {
	ID      string            `json:"id"`
	Type    string            `json:"type"`
	Source  string            `json:"source"`
	Subject string            `json:"subject"`
	Topics  []string          `json:"topics"`
	Time    time.Time         `json:"time"`
	Data    string            `json:"data"`
	Parent  string            `json:"traceparent,omitempty"`
	State   string            `json:"tracestate,omitempty"`
	Ext     map[string]string `json:"extensions,omitempty"`
}

// outboxJSON renders events as the JSON array outboxCTE reads, as this store
// writes them: from its Source unless an event names its own, with the trace
// context of ctx (the request or event that caused the change). Events whose
// payload did not encode are refused, so that the write fails with them
// rather than reach every consumer without data.
func (s *Store) outboxJSON(ctx context.Context, evs []events.Event) (string, error) {
	if err := events.Encoded(evs); err != nil {
		return "", err
	}
	parent, state := telemetry.TraceParent(ctx)
	rows := make([]outboxRow, len(evs))
	for i, e := range evs {
		rows[i] = outboxRow{e.ID, e.Type, cmp.Or(e.Source, s.Source), e.Subject, e.Topics, e.Time, string(e.Data),
			parent, state, e.Extensions}
	}
	b, err := json.Marshal(rows)
	return string(b), err
}

// writeEvents stores events in tx.
func (s *Store) writeEvents(ctx context.Context, tx pgx.Tx, evs []events.Event) error {
	if len(evs) == 0 {
		return nil
	}
	rows, err := s.outboxJSON(ctx, evs)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, outboxCTE("$1"), rows)
	return err
}

// Pending is an unsent outbox row.
type Pending struct {
	Seq int64
	events.Event
}

// Unsent returns up to limit unsent events in sequence order.
func (s *Store) Unsent(ctx context.Context, limit int) ([]Pending, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, event_id, type, source, subject, topics, time, data,
			coalesce(traceparent, ''), coalesce(tracestate, ''), extensions
		FROM outbox ORDER BY seq LIMIT $1`, limit)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Pending, error) {
		var p Pending
		var data string
		var ext []byte
		err := r.Scan(&p.Seq, &p.ID, &p.Type, &p.Source, &p.Subject, &p.Topics, &p.Time, &data, &p.TraceParent, &p.TraceState, &ext)
		if err == nil && ext != nil {
			err = json.Unmarshal(ext, &p.Extensions)
		}
		p.Data = json.RawMessage(data)
		p.Time = p.Time.UTC()
		return p, err
	})
	return out, dbErr(err)
}

// MarkSent records that the events with these sequence numbers are in Kafka
// by deleting them: cheaper than keeping sent rows, and nothing reads them.
func (s *Store) MarkSent(ctx context.Context, seqs []int64) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM outbox WHERE seq = ANY($1)`, seqs)
	return dbErr(err)
}

// Backlog counts unsent events and the age of the oldest.
func (s *Store) Backlog(ctx context.Context) (int64, time.Duration, error) {
	var n int64
	var oldest *time.Time
	err := s.pool.QueryRow(ctx, `SELECT count(*), min(created_at) FROM outbox`).Scan(&n, &oldest)
	if err != nil || oldest == nil {
		return n, 0, dbErr(err)
	}
	return n, time.Since(*oldest), nil
}
