package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// DeadLetter is an event a Trigger gave up on, kept for an operator to
// inspect and replay: its data byte for byte, whatever they are.
type DeadLetter struct {
	ID, Source, Type string
	// Attributes holds every context attribute and extension as JSON
	// (structured mode without the data).
	Attributes  []byte
	ContentType string // "" when the event has none
	Data        []byte // nil when the event has none
}

// RecordDeadLetter keeps d once per source and id.
func (s *Store) RecordDeadLetter(ctx context.Context, d DeadLetter) error {
	var ct *string
	if d.ContentType != "" {
		ct = &d.ContentType
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO dead_letters (event_id, source, type, attributes, datacontenttype, data)
		VALUES (@event_id, @source, @type, @attributes, @datacontenttype, @data)
		ON CONFLICT (source, event_id) DO NOTHING`,
		pgx.NamedArgs{"event_id": d.ID, "source": d.Source, "type": d.Type, "attributes": d.Attributes,
			"datacontenttype": ct, "data": d.Data})
	return dbErr(err)
}
