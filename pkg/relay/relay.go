// Package relay publishes the outbox to Kafka: rows in sequence order, each
// as a binary-mode CloudEvent keyed by task id, marked sent only after every
// in-sync replica acknowledged it. It wakes on commit (LISTEN/NOTIFY), holds
// a database lock so that one relay publishes at a time (per-task order), and
// backs off while Kafka is unreachable; nothing is dropped.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// Config is the relay function's environment.
type Config struct {
	fn.Base
	fn.Database
	kafka.Config
	Batch int `envconfig:"TASKFLOW_RELAY_BATCH" default:"500" desc:"most outbox rows published per batch"`
}

// Function is the relay as a function: publishing is its background work,
// ready while it can publish. A bad TLS or SASL setting fails at start, not
// at every publish.
func Function(_ context.Context, cfg *Config, d *fn.Deps) (*fn.Function, error) {
	if err := cfg.Auth.Sarama(kafka.ProducerConfig("relay")); err != nil {
		return nil, err
	}
	r := New(*cfg, d.Store, cfg.DatabaseURL, d.Log)
	return &fn.Function{Start: r.Run, Ready: r.Ready}, nil
}

// lockID is the advisory lock only the publishing relay holds.
const lockID = 7351002

// Relay moves outbox rows to Kafka.
type Relay struct {
	cfg   Config
	st    *store.Store
	dbURL string
	log   *slog.Logger

	producer  sarama.SyncProducer // used by the Run goroutine only
	connected atomic.Bool
	published atomic.Int64
	leader    atomic.Bool
	// Wait bounds how long the relay sleeps without a notification (a safety
	// net for a lost connection); notifications wake it at once.
	Wait time.Duration
}

// New prepares a relay; Run starts it.
func New(cfg Config, st *store.Store, dbURL string, log *slog.Logger) *Relay {
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	return &Relay{cfg: cfg, st: st, dbURL: dbURL, log: log, Wait: 5 * time.Second}
}

// Published counts events published since start (each once, whatever its topics).
func (r *Relay) Published() int64 { return r.published.Load() }

// Ready reports whether this relay can publish: the database answers and, if
// it leads, Kafka is connected.
func (r *Relay) Ready(ctx context.Context) error {
	if err := r.st.Ping(ctx); err != nil {
		return err
	}
	if r.leader.Load() && !r.connected.Load() {
		return errors.New("kafka not connected")
	}
	return nil
}

// Run publishes until ctx ends, reconnecting to the database and Kafka as needed.
func (r *Relay) Run(ctx context.Context) error {
	go r.watchBacklog(ctx)
	backoff := newBackoff()
	for ctx.Err() == nil {
		err := r.session(ctx)
		if ctx.Err() != nil {
			break
		}
		r.log.Warn("relay session ended; retrying", "error", err)
		backoff.sleep(ctx)
	}
	if r.producer != nil {
		_ = r.producer.Close()
	}
	return nil
}

// session holds one database connection: it takes the relay lock, listens
// for commits and publishes until an error.
func (r *Relay) session(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, r.dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
		return err
	}
	r.leader.Store(true)
	defer r.leader.Store(false)
	if _, err := conn.Exec(ctx, "LISTEN taskflow_outbox"); err != nil {
		return err
	}
	if err := r.connect(); err != nil {
		r.log.Warn("kafka not reachable yet", "error", err)
	}
	backoff := newBackoff()
	for ctx.Err() == nil {
		n, err := r.flush(ctx)
		if err != nil {
			r.log.Warn("publishing failed; will retry", "error", err)
			backoff.sleep(ctx)
			continue
		}
		backoff.reset()
		if n == r.cfg.Batch {
			continue // more waiting
		}
		wctx, cancel := context.WithTimeout(ctx, r.Wait)
		_, err = conn.WaitForNotification(wctx)
		cancel()
		if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("listen: %w", err)
		}
	}
	return nil
}

// flush publishes one batch of unsent rows and marks them sent. A batch with
// any failure is retried whole: consumers deduplicate by event id, and a
// later event of a task never lands while an earlier one is missing.
func (r *Relay) flush(ctx context.Context) (int, error) {
	pending, err := r.st.Unsent(ctx, r.cfg.Batch)
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	if err := r.connect(); err != nil {
		return 0, err
	}
	var msgs []*sarama.ProducerMessage
	seqs := make([]int64, len(pending))
	for i, p := range pending {
		m, err := kafka.Messages(ctx, p.Event)
		if err != nil {
			return 0, err
		}
		msgs = append(msgs, m...)
		seqs[i] = p.Seq
	}
	if err := r.producer.SendMessages(msgs); err != nil {
		telemetry.PublishFailures.Inc()
		// A producer that failed may hold a broken connection: start afresh.
		_ = r.producer.Close()
		r.producer = nil
		r.connected.Store(false)
		return 0, fmt.Errorf("send %d messages: %w", len(msgs), err)
	}
	if err := r.st.MarkSent(ctx, seqs); err != nil {
		return 0, err
	}
	r.published.Add(int64(len(pending)))
	for _, p := range pending {
		for _, topic := range p.Topics {
			telemetry.Published.WithLabelValues(topic, p.Type).Inc()
		}
	}
	return len(pending), nil
}

// watchBacklog keeps the outbox gauges current (every 5 s) until ctx ends.
func (r *Relay) watchBacklog(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		n, age, err := r.st.Backlog(qctx)
		cancel()
		if err == nil {
			telemetry.OutboxBacklog.Set(float64(n))
			telemetry.OutboxOldest.Set(age.Seconds())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// connect creates the producer if there is none.
func (r *Relay) connect() error {
	if r.producer != nil {
		return nil
	}
	c := kafka.ProducerConfig("taskflow-relay")
	if err := r.cfg.Auth.Sarama(c); err != nil {
		return err
	}
	p, err := sarama.NewSyncProducer(r.cfg.Brokers, c)
	if err != nil {
		return fmt.Errorf("connect to kafka %v: %w", r.cfg.Brokers, err)
	}
	r.producer = p
	r.connected.Store(true)
	return nil
}

type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{d: 100 * time.Millisecond} }

func (b *backoff) reset() { b.d = 100 * time.Millisecond }

func (b *backoff) sleep(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(b.d):
	}
	b.d = min(b.d*2, 5*time.Second)
}
