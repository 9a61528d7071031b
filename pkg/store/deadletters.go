package store

import "context"

// RecordDeadLetter keeps an event that exhausted its retries, once per
// source and id.
func (s *Store) RecordDeadLetter(ctx context.Context, id, source, typ string, event []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO dead_letters (event_id, source, type, event) VALUES ($1, $2, $3, $4)
		ON CONFLICT (source, event_id) DO NOTHING`, id, source, typ, event)
	return dbErr(err)
}
