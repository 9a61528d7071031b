package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Purgeable is a table the retention purge bounds: rows whose age column is
// older than the table's retention are deleted, in batches.
type Purgeable string

// The tables the purge bounds. Audit history (audit_events) is the product
// and is never purged; sent outbox rows need no purge: the relay deletes each
// row once Kafka has it (migrations/002_outbox.sql).
const (
	PurgeProcessedEvents   Purgeable = "processed_events"
	PurgeIdempotencyKeys   Purgeable = "idempotency_keys"
	PurgeDeadLetters       Purgeable = "dead_letters"
	PurgeDeliveredWebhooks Purgeable = "delivered_webhooks"
)

// purgeSQL deletes at most $2 rows older than $1, oldest first, each table
// by its primary key and its indexed age column (migrations/015).
var purgeSQL = map[Purgeable]string{
	PurgeProcessedEvents: `DELETE FROM processed_events WHERE (consumer, event_id) IN (
		SELECT consumer, event_id FROM processed_events WHERE processed_at < $1
		ORDER BY processed_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
	PurgeIdempotencyKeys: `DELETE FROM idempotency_keys WHERE (user_id, key) IN (
		SELECT user_id, key FROM idempotency_keys WHERE created_at < $1
		ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
	PurgeDeadLetters: `DELETE FROM dead_letters WHERE id IN (
		SELECT id FROM dead_letters WHERE last_received_at < $1
		ORDER BY last_received_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
	// A done webhook delivery (migrations/016): the webhook took it, refused
	// it for good, or it was given up. The in-app notification is another
	// row and stays.
	PurgeDeliveredWebhooks: `DELETE FROM webhook_deliveries WHERE notification_id IN (
		SELECT notification_id FROM webhook_deliveries WHERE delivered_at < $1
		ORDER BY delivered_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
}

// oldestSQL gives the age column of a table's oldest row (NULL when empty).
var oldestSQL = map[Purgeable]string{
	PurgeProcessedEvents:   `SELECT min(processed_at) FROM processed_events`,
	PurgeIdempotencyKeys:   `SELECT min(created_at) FROM idempotency_keys`,
	PurgeDeadLetters:       `SELECT min(last_received_at) FROM dead_letters`,
	PurgeDeliveredWebhooks: `SELECT min(delivered_at) FROM webhook_deliveries`,
	"outbox":               `SELECT created_at FROM outbox ORDER BY seq LIMIT 1`,
}

// Tables lists the tables Oldest can tell about: the purged ones and the
// outbox (whose oldest row is the relay's backlog).
func Tables() []Purgeable {
	return []Purgeable{PurgeProcessedEvents, PurgeIdempotencyKeys, PurgeDeadLetters, PurgeDeliveredWebhooks, "outbox"}
}

// Purger deletes old rows on one connection holding the purge's advisory
// lock, each batch its own short transaction.
type Purger struct{ conn *pgx.Conn }

// PurgeBatch deletes at most batch rows of t older than before and returns
// how many went.
func (p Purger) PurgeBatch(ctx context.Context, t Purgeable, before time.Time, batch int) (int64, error) {
	q, ok := purgeSQL[t]
	if !ok {
		return 0, fmt.Errorf("no purge for table %q", t)
	}
	tag, err := p.conn.Exec(ctx, q, before, batch)
	return tag.RowsAffected(), dbErr(err)
}

// Oldest returns the time of t's oldest row, or the zero time when t is empty.
func (p Purger) Oldest(ctx context.Context, t Purgeable) (time.Time, error) {
	var at *time.Time
	err := p.conn.QueryRow(ctx, oldestSQL[t]).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) || at == nil {
		return time.Time{}, nil
	}
	return *at, dbErr(err)
}

// purgeLock is the session advisory lock key that makes one replica purge at
// a time: "taskflow" in ASCII, read as an integer.
const purgeLock int64 = 0x7461736b666c6f77

// WithPurgeLock runs fn with a Purger when this session gets the purge's
// advisory lock, and returns false without running it when another session
// holds it. The lock is released before it returns.
func (s *Store) WithPurgeLock(ctx context.Context, fn func(Purger) error) (bool, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, dbErr(err)
	}
	defer c.Release()
	var got bool
	if err := c.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, purgeLock).Scan(&got); err != nil {
		return false, dbErr(err)
	}
	if !got {
		return false, nil
	}
	ferr := fn(Purger{conn: c.Conn()})
	if _, err := c.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, purgeLock); err != nil {
		// The session may still hold the lock: close it so the lock goes with it.
		c.Conn().Close(context.WithoutCancel(ctx))
		return true, errors.Join(ferr, dbErr(err))
	}
	return true, ferr
}
