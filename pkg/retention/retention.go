// Package retention keeps TaskFlow's bookkeeping tables bounded: a loop in
// the deadletter function deletes, every Interval, the rows older than each
// table's retention, in batches small enough that a purge never holds row
// locks for long. A PostgreSQL advisory lock makes one replica purge at a
// time, so any number of replicas may run the loop.
//
// Audit history (audit_events) is the product and is kept; sent outbox rows
// are deleted by the relay as soon as Kafka has them, so the outbox is only
// watched (its oldest row's age), not purged.
package retention

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/taskflow/taskflow/pkg/store"
)

// Config is the purge's settings (docs/settings.md).
type Config struct {
	Interval time.Duration `envconfig:"TASKFLOW_PURGE_INTERVAL" default:"1m" desc:"how often old rows are purged (one replica at a time, under an advisory lock); 0 turns the purge off"`
	Batch    int           `envconfig:"TASKFLOW_PURGE_BATCH" default:"1000" desc:"most rows one purge statement deletes (one short transaction each)"`

	ProcessedEvents   time.Duration `envconfig:"TASKFLOW_RETAIN_PROCESSED_EVENTS" default:"168h" desc:"how long a consumer remembers an event id it processed; a redelivery or replay of an older event is applied again, so the deadletter function refuses to replay letters older than this"`
	IdempotencyKeys   time.Duration `envconfig:"TASKFLOW_RETAIN_IDEMPOTENCY_KEYS" default:"24h" desc:"how long an Idempotency-Key makes a retried create return the first result; create commands from the Broker dedupe by it too, so dead letters older than this are not replayed"`
	DeadLetters       time.Duration `envconfig:"TASKFLOW_RETAIN_DEAD_LETTERS" default:"336h" desc:"how long a dead letter is kept after it last reached the sink"`
	DeliveredWebhooks time.Duration `envconfig:"TASKFLOW_RETAIN_DELIVERED_WEBHOOKS" default:"168h" desc:"how long a webhook delivery is kept after it ended (delivered, refused for good or given up); the in-app notification is kept regardless"`
}

// ReplayableFor is how long after an event a redelivery of it is still
// recognised as one: consumers remember processed event ids for
// ProcessedEvents, and the create command dedupes by an idempotency key kept
// for IdempotencyKeys, so the shorter of the two (0: no limit).
func (c Config) ReplayableFor() time.Duration {
	if c.ProcessedEvents <= 0 || (c.IdempotencyKeys > 0 && c.IdempotencyKeys < c.ProcessedEvents) {
		return c.IdempotencyKeys
	}
	return c.ProcessedEvents
}

// Retain is each purged table's retention; 0 leaves a table alone.
func (c Config) Retain() map[store.Purgeable]time.Duration {
	return map[store.Purgeable]time.Duration{
		store.PurgeProcessedEvents:   c.ProcessedEvents,
		store.PurgeIdempotencyKeys:   c.IdempotencyKeys,
		store.PurgeDeadLetters:       c.DeadLetters,
		store.PurgeDeliveredWebhooks: c.DeliveredWebhooks,
	}
}

var (
	purged = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "taskflow_retention_rows_purged_total",
		Help: "Rows the retention purge deleted, by table.",
	}, []string{"table"})
	oldest = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "taskflow_retention_oldest_row_age_seconds",
		Help: "Age of each bounded table's oldest row after the last purge (0 when empty), by table; the outbox's is the relay's backlog.",
	}, []string{"table"})
)

// Purged is how many rows the purge deleted from each table in one round.
type Purged map[store.Purgeable]int64

// Once runs one purge round at now if no other session holds the purge
// lock (ran is false then): each table with a retention loses its rows
// older than now minus it, batch after batch until a batch comes back short,
// and the oldest-row gauges are set.
func Once(ctx context.Context, st *store.Store, cfg Config, now time.Time) (Purged, bool, error) {
	out := Purged{}
	ran, err := st.WithPurgeLock(ctx, func(p store.Purger) error {
		for t, keep := range cfg.Retain() {
			if keep <= 0 {
				continue
			}
			for {
				n, err := p.PurgeBatch(ctx, t, now.Add(-keep), cfg.Batch)
				if err != nil {
					return err
				}
				out[t] += n
				purged.WithLabelValues(string(t)).Add(float64(n))
				if n < int64(cfg.Batch) {
					break
				}
			}
		}
		for _, t := range store.Tables() {
			at, err := p.Oldest(ctx, t)
			if err != nil {
				return err
			}
			age := 0.0
			if !at.IsZero() {
				age = now.Sub(at).Seconds()
			}
			oldest.WithLabelValues(string(t)).Set(age)
		}
		return nil
	})
	return out, ran, err
}

// Loop purges every cfg.Interval until ctx ends (at once when the interval
// is 0: the purge is off). A failed round is logged and tried again at the
// next tick: a database that is down must not stop the function.
func Loop(ctx context.Context, st *store.Store, cfg Config, log *slog.Logger) error {
	if cfg.Interval <= 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for {
		n, ran, err := Once(ctx, st, cfg, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.WarnContext(ctx, "purge failed; trying again next round", "error", err)
		case ran && len(n) > 0:
			log.DebugContext(ctx, "purged", "rows", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
