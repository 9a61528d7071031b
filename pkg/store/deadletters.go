package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// DeadLetter is an event a Trigger gave up on, kept for an operator to
// inspect and replay: its data byte for byte, whatever they are.
type DeadLetter struct {
	ID, Source, Type string
	// Subscriber is the subscriber that refused the event, as the
	// dispatcher's knativeerrordest extension names it (a URL in a cluster,
	// a Service name on the local Broker); "" when the event has none.
	Subscriber string
	// Attributes holds every context attribute and extension as JSON
	// (structured mode without the data).
	Attributes  []byte
	ContentType string // "" when the event has none
	Data        []byte // nil when the event has none
}

// StoredDeadLetter is a kept dead letter with what happened to it since.
type StoredDeadLetter struct {
	DeadLetter
	Seq int64 // the row's id: what an operator names a letter by
	// Times counts how often the event reached the sink for this
	// subscriber, each after the Trigger's whole retry budget.
	Times                      int
	ReceivedAt, LastReceivedAt time.Time
	Replays                    int        // replays the subscriber accepted (2xx)
	ReplayedAt                 *time.Time // the last of them; nil before the first
}

// RecordDeadLetter keeps d once per source, id and subscriber; the same
// event dead-lettered again for that subscriber (after a replay that failed,
// say) counts one more time and keeps its latest attributes.
func (s *Store) RecordDeadLetter(ctx context.Context, d DeadLetter) error {
	var ct *string
	if d.ContentType != "" {
		ct = &d.ContentType
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO dead_letters (event_id, source, type, subscriber, attributes, datacontenttype, data)
		VALUES (@event_id, @source, @type, @subscriber, @attributes, @datacontenttype, @data)
		ON CONFLICT (source, event_id, subscriber) DO UPDATE SET times = dead_letters.times + 1,
			last_received_at = now(), attributes = EXCLUDED.attributes`,
		pgx.NamedArgs{"event_id": d.ID, "source": d.Source, "type": d.Type, "subscriber": d.Subscriber,
			"attributes": d.Attributes, "datacontenttype": ct, "data": d.Data})
	return dbErr(err)
}

// DeadLetterQuery selects dead letters: of one type and subscriber when
// set, with a row id above After, at most Limit of them (1 to 1000), in id
// order. Pending keeps only those not replayed since they last arrived.
type DeadLetterQuery struct {
	Type, Subscriber string
	After            int64
	Limit            int
	Pending          bool
	WithData         bool // also read each letter's data (for a replay)
}

const deadLetterColumns = `id, event_id, source, type, subscriber, attributes, coalesce(datacontenttype, ''),
	times, received_at, last_received_at, replays, replayed_at`

// DeadLetters lists the dead letters q selects.
func (s *Store) DeadLetters(ctx context.Context, q DeadLetterQuery) ([]StoredDeadLetter, error) {
	data := "NULL::bytea"
	if q.WithData {
		data = "data"
	}
	rows, err := s.pool.Query(ctx, `SELECT `+deadLetterColumns+`, `+data+` FROM dead_letters
		WHERE id > @after AND (@type = '' OR type = @type) AND (@subscriber::text IS NULL OR subscriber = @subscriber)
		  AND (NOT @pending OR replayed_at IS NULL OR replayed_at < last_received_at)
		ORDER BY id LIMIT @limit`,
		pgx.NamedArgs{"after": q.After, "type": q.Type, "subscriber": nullIfEmpty(q.Subscriber),
			"pending": q.Pending, "limit": q.Limit})
	if err != nil {
		return nil, dbErr(err)
	}
	out, err := pgx.CollectRows(rows, scanDeadLetter)
	return out, dbErr(err)
}

// DeadLetterBySeq returns the dead letter with row id seq and its data, or
// errs.ErrNotFound.
func (s *Store) DeadLetterBySeq(ctx context.Context, seq int64) (StoredDeadLetter, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deadLetterColumns+`, data FROM dead_letters WHERE id = $1`, seq)
	if err != nil {
		return StoredDeadLetter{}, dbErr(err)
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDeadLetter)
	return d, dbErr(err)
}

// DeadLetterReplayed records that the subscriber accepted a replay of the
// dead letter seq.
func (s *Store) DeadLetterReplayed(ctx context.Context, seq int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE dead_letters SET replays = replays + 1, replayed_at = now() WHERE id = $1`, seq)
	return dbErr(err)
}

func scanDeadLetter(row pgx.CollectableRow) (StoredDeadLetter, error) {
	var d StoredDeadLetter
	err := row.Scan(&d.Seq, &d.ID, &d.Source, &d.Type, &d.Subscriber, &d.Attributes, &d.ContentType,
		&d.Times, &d.ReceivedAt, &d.LastReceivedAt, &d.Replays, &d.ReplayedAt, &d.Data)
	return d, err
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
