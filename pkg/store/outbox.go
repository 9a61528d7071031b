package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	parent, state := telemetry.TraceParent(ctx)
	return s.outboxJSONEach(evs, func(int) (string, string) { return parent, state })
}

// outboxJSONEach is outboxJSON with each event's own trace context (its
// W3C traceparent and tracestate), for a transaction that stores the
// effects of several requests or events together.
func (s *Store) outboxJSONEach(evs []events.Event, trace func(i int) (parent, state string)) (string, error) {
	if err := events.Encoded(evs); err != nil {
		return "", err
	}
	rows := make([]outboxRow, len(evs))
	for i, e := range evs {
		parent, state := trace(i)
		rows[i] = outboxRow{e.ID, e.Type, cmp.Or(e.Source, s.Source), e.Subject, e.Topics, e.Time, string(e.Data),
			parent, state, e.Extensions}
	}
	b, err := json.Marshal(rows)
	return string(b), err
}

// writeEvents stores events in tx with the trace context of ctx.
func (s *Store) writeEvents(ctx context.Context, tx pgx.Tx, evs []events.Event) error {
	parent, state := telemetry.TraceParent(ctx)
	return s.writeEventsEach(ctx, tx, evs, func(int) (string, string) { return parent, state })
}

// writeEventsEach stores events in tx, each with its own trace context.
func (s *Store) writeEventsEach(ctx context.Context, tx pgx.Tx, evs []events.Event, trace func(i int) (parent, state string)) error {
	if len(evs) == 0 {
		return nil
	}
	rows, err := s.outboxJSONEach(evs, trace)
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

// unsentQuery reads up to $1 unsent events in sequence order.
const unsentQuery = `SELECT seq, event_id, type, source, subject, topics, time, data,
		coalesce(traceparent, ''), coalesce(tracestate, ''), extensions
	FROM outbox ORDER BY seq LIMIT $1`

// Unsent returns up to limit unsent events in sequence order.
func (s *Store) Unsent(ctx context.Context, limit int) ([]Pending, error) {
	rows, err := s.pool.Query(ctx, unsentQuery, limit)
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, scanPending)
	return out, dbErr(err)
}

func scanPending(r pgx.CollectableRow) (Pending, error) {
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

// WakeLock is the advisory lock by which the relay tells writers whether it
// sleeps; migrations/014_outbox_wake.sql names the same number. Its
// protocol: the relay holds it exclusively only while it waits for a
// notification; the outbox's trigger tries to share it (never waiting) and
// notifies at commit when it cannot, and otherwise shares it until the
// writer's transaction ends.
const WakeLock = 7351003

// Wake is what Next does with WakeLock before it reads.
type Wake int

const (
	// KeepWake leaves WakeLock as it is.
	KeepWake Wake = iota
	// AcquireWake takes WakeLock, waiting (up to the connection's
	// lock_timeout) for every writer that shares it to end, so that the
	// read that follows sees all their rows: the relay's last look before
	// it sleeps. Writers that try to share it meanwhile notify instead.
	AcquireWake
	// ReleaseWake lets writers share WakeLock again, so that they stop
	// notifying: the relay is awake and will read before it sleeps.
	ReleaseWake
)

// OutboxConn is the relay's own connection to the outbox. It is not safe
// for concurrent use.
type OutboxConn struct{ conn *pgx.Conn }

// NewOutboxConn wraps conn, a connection the caller keeps (and closes).
// Its commits do not wait for the WAL to reach disk (synchronous_commit off):
// it only deletes rows already in Kafka, and a delete lost to a database
// crash publishes those events again, which consumers deduplicate by id.
// lockTimeout bounds how long AcquireWake waits for writers.
func NewOutboxConn(ctx context.Context, conn *pgx.Conn, lockTimeout time.Duration) (*OutboxConn, error) {
	for _, set := range []string{"SET synchronous_commit = off", fmt.Sprintf("SET lock_timeout = %d", lockTimeout.Milliseconds())} {
		if _, err := conn.Exec(ctx, set); err != nil {
			return nil, dbErr(err)
		}
	}
	return &OutboxConn{conn}, nil
}

// Next deletes the events with sequence numbers sent (those in Kafka), does
// wake's step with WakeLock, and returns up to limit unsent events in
// sequence order: one round trip, the read after the other two. An error
// leaves the deletion undone and the lock as it was, except that a failed
// AcquireWake (lock_timeout: a writer still open) leaves it not held;
// LockTimeout reports that case.
func (o *OutboxConn) Next(ctx context.Context, sent []int64, wake Wake, limit int) ([]Pending, error) {
	b := &pgx.Batch{}
	if len(sent) > 0 {
		b.Queue(`DELETE FROM outbox WHERE seq = ANY($1)`, sent)
	}
	switch wake {
	case AcquireWake:
		b.Queue(`SELECT pg_advisory_lock($1)`, WakeLock)
	case ReleaseWake:
		b.Queue(`SELECT pg_advisory_unlock($1)`, WakeLock)
	}
	var out []Pending
	b.Queue(unsentQuery, limit).Query(func(rows pgx.Rows) error {
		var err error
		out, err = pgx.CollectRows(rows, scanPending)
		return err
	})
	err := o.conn.SendBatch(ctx, b).Close()
	return out, dbErr(err)
}

// LockTimeout reports whether err is Next's AcquireWake giving up on a
// writer that did not end within the lock timeout.
func LockTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03"
}
