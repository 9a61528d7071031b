package retention_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/retention"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

// rows inserts, for each table the purge bounds, one row of age old and one
// of age young (and one audit event and one outbox row, which the purge must
// leave), and returns the database's URL and store.
func seed(t *testing.T, now time.Time, old, young time.Duration) (*store.Store, string) {
	st, url := storetest.New(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for _, age := range []struct {
		name string
		at   time.Time
	}{{"old", now.Add(-old)}, {"young", now.Add(-young)}} {
		for _, q := range []string{
			`INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ('audit', $1, $2)`,
			`INSERT INTO idempotency_keys (user_id, key, request_hash, response, created_at) VALUES ('alice', $1, '', '', $2)`,
			`INSERT INTO dead_letters (event_id, source, type, attributes, received_at, last_received_at) VALUES ($1, '/s', 't', '{}', $2, $2)`,
			`WITH n AS (INSERT INTO notifications (id, user_id, task_id, title, message, remind_at, delivered_at)
				VALUES (gen_random_uuid(), 'alice', gen_random_uuid(), $1, '', $2, $2) RETURNING id)
			 INSERT INTO webhook_deliveries (notification_id, created_at, next_at, delivered_at, status)
				SELECT id, $2, $2, $2, 200 FROM n`,
			`INSERT INTO audit_events (event_id, user_id, task_id, type, time, changes, recorded_at)
				VALUES ($1, 'alice', gen_random_uuid(), 't', $2, '{}', $2)`,
		} {
			if _, err := c.Exec(ctx, q, age.name, age.at); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	return st, url
}

// TestPurgeTakesOldRowsAndKeepsYoungOnes: each bounded table loses its row
// older than the table's retention and keeps the younger one, also when the
// rows take several batches; audit history is never purged.
func TestPurgeTakesOldRowsAndKeepsYoungOnes(t *testing.T) {
	now := time.Now()
	cfg := retention.Config{Batch: 1, ProcessedEvents: time.Hour, IdempotencyKeys: 24 * time.Hour,
		DeadLetters: 48 * time.Hour, DeliveredWebhooks: 72 * time.Hour}
	// Each row "old" is older than the longest retention, each "young" younger than the shortest.
	st, url := seed(t, now, 100*time.Hour, 30*time.Minute)
	purged, ran, err := retention.Once(context.Background(), st, cfg, now)
	if err != nil || !ran {
		t.Fatalf("purge: ran %v, %v", ran, err)
	}
	for _, c := range []struct {
		table store.Purgeable
		left  string // the rows left, by name
	}{
		{store.PurgeProcessedEvents, `SELECT string_agg(event_id, ',') FROM processed_events`},
		{store.PurgeIdempotencyKeys, `SELECT string_agg(key, ',') FROM idempotency_keys`},
		{store.PurgeDeadLetters, `SELECT string_agg(event_id, ',') FROM dead_letters`},
		{store.PurgeDeliveredWebhooks, `SELECT string_agg(n.title, ',') FROM webhook_deliveries w JOIN notifications n ON n.id = w.notification_id`},
	} {
		if got := left(t, url, c.left); got != "young" {
			t.Errorf("%s: rows left %q, want the young one only", c.table, got)
		}
		if purged[c.table] != 1 {
			t.Errorf("%s: purged %d, want 1", c.table, purged[c.table])
		}
	}
	if got := left(t, url, `SELECT string_agg(title, ',' ORDER BY title) FROM notifications`); got != "old,young" {
		t.Errorf("notifications left %q, want both: purging a webhook delivery keeps the in-app notification", got)
	}
	if got := left(t, url, `SELECT string_agg(event_id, ',' ORDER BY event_id) FROM audit_events`); got != "old,young" {
		t.Errorf("audit events left %q, want both: audit history is kept", got)
	}
}

// TestPurgeKeepsWhatItsRetentionCovers: a row younger than its own table's
// retention stays though it is older than another table's; a retention of
// 0 leaves its table alone.
func TestPurgeKeepsWhatItsRetentionCovers(t *testing.T) {
	now := time.Now()
	st, url := seed(t, now, 30*time.Hour, time.Minute)
	cfg := retention.Config{Batch: 1000, ProcessedEvents: 24 * time.Hour, IdempotencyKeys: 48 * time.Hour,
		DeadLetters: 48 * time.Hour}
	if _, _, err := retention.Once(context.Background(), st, cfg, now); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int64{
		`SELECT count(*) FROM processed_events`:   1, // 30 h > 24 h: the old one went
		`SELECT count(*) FROM idempotency_keys`:   2, // 30 h < 48 h: both stay
		`SELECT count(*) FROM dead_letters`:       2,
		`SELECT count(*) FROM webhook_deliveries`: 2, // no retention: kept
	} {
		if n := storetest.Count(t, url, q); n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
}

// TestOneReplicaPurgesAtATime: while another session holds the purge's
// advisory lock, a round does nothing and says so.
func TestOneReplicaPurgesAtATime(t *testing.T) {
	now := time.Now()
	st, url := seed(t, now, 100*time.Hour, time.Minute)
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock(x'7461736b666c6f77'::bigint)`); err != nil {
		t.Fatal(err)
	}
	cfg := retention.Config{Batch: 1000, ProcessedEvents: time.Hour}
	if _, ran, err := retention.Once(ctx, st, cfg, now); err != nil || ran {
		t.Fatalf("with the lock held elsewhere: ran %v, %v; want a round that does nothing", ran, err)
	}
	if n := storetest.Count(t, url, `SELECT count(*) FROM processed_events`); n != 2 {
		t.Fatalf("%d processed events, want both while another replica purges", n)
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock(x'7461736b666c6f77'::bigint)`); err != nil {
		t.Fatal(err)
	}
	if _, ran, err := retention.Once(ctx, st, cfg, now); err != nil || !ran {
		t.Fatalf("with the lock free: ran %v, %v", ran, err)
	}
	if n := storetest.Count(t, url, `SELECT count(*) FROM processed_events`); n != 1 {
		t.Fatalf("%d processed events, want the young one", n)
	}
}

func left(t *testing.T, url, q string) string {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var s *string
	if err := c.QueryRow(context.Background(), q).Scan(&s); err != nil {
		t.Fatal(err)
	}
	if s == nil {
		return ""
	}
	return *s
}
