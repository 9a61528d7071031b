// Package relay publishes the outbox to Kafka: rows in sequence order, each
// as a binary-mode CloudEvent keyed by task id, marked sent only after every
// in-sync replica acknowledged it. It wakes on commit (LISTEN/NOTIFY, sent
// only while it sleeps: see session), holds a database lock so that one
// relay publishes at a time (per-task order), and backs off while Kafka is
// unreachable; nothing is dropped.
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
	sleeps    atomic.Int64
	// Wait bounds how long the relay sleeps without a notification (a safety
	// net for a lost connection); notifications wake it at once.
	Wait time.Duration
	// LockWait bounds how long the relay waits, before it sleeps, for
	// writers still open to commit (see session).
	LockWait time.Duration
}

// New prepares a relay; Run starts it.
func New(cfg Config, st *store.Store, dbURL string, log *slog.Logger) *Relay {
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	return &Relay{cfg: cfg, st: st, dbURL: dbURL, log: log, Wait: 5 * time.Second, LockWait: 100 * time.Millisecond}
}

// Published counts events published since start (each once, whatever its topics).
func (r *Relay) Published() int64 { return r.published.Load() }

// Sleeps counts the times this relay found the outbox empty and waited for
// a notification.
func (r *Relay) Sleeps() int64 { return r.sleeps.Load() }

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
//
// Waking without a notification per write. The outbox's trigger notifies
// only when it cannot share store.WakeLock, which this relay holds
// exclusively only while it sleeps (migrations/014_outbox_wake.sql). A write
// whose trigger did share the lock therefore sent no notification; it is
// still published, because the relay never sleeps without first acquiring
// the lock and then reading the outbox once more (the last look):
//
//   - a writer that shared the lock before the relay asked for it keeps it
//     until its transaction ends, so the acquisition waits for its commit and
//     the last look, whose snapshot is taken after, sees its rows;
//   - a writer whose trigger runs after the relay asked for the lock fails
//     to share it (PostgreSQL refuses a new shared holder while an exclusive
//     request waits, and while it is held) and notifies at commit; the relay
//     has been listening since the session began, so the notification wakes
//     it even if it arrives before it waits;
//   - a writer that shares the lock after the relay released it finds the
//     relay awake: the relay reads again before its next sleep, and that
//     sleep starts with the same acquisition.
//
// Nothing depends on timing or on the writer's snapshot (advisory locks are
// not transactional state), and a writer never waits for the relay. While
// the relay is busy, writers take one shared lock each and nobody notifies;
// PostgreSQL's notify-queue lock, held by every notifying transaction
// through its commit, no longer serialises them. The lock wait is bounded by
// LockWait: a writer transaction open longer makes the relay read and try
// again, while later writers notify.
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
	outbox, err := store.NewOutboxConn(ctx, conn, r.LockWait)
	if err != nil {
		return err
	}
	if err := r.connect(); err != nil {
		r.log.Warn("kafka not reachable yet", "error", err)
	}
	backoff := newBackoff()
	var sent []int64 // in Kafka, deleted by the next read
	held := false    // this session holds store.WakeLock: writers notify
	wake := store.KeepWake
	for ctx.Err() == nil {
		pending, err := outbox.Next(ctx, sent, wake, r.cfg.Batch)
		switch {
		case err != nil && wake == store.AcquireWake && store.LockTimeout(err):
			// A writer still open: read without sleeping, then try again.
			wake = store.KeepWake
			continue
		case err != nil:
			return fmt.Errorf("outbox: %w", err)
		}
		sent = nil
		switch wake {
		case store.AcquireWake:
			held = true
		case store.ReleaseWake:
			held = false
		}
		wake = store.KeepWake
		if len(pending) == 0 {
			if !held {
				wake = store.AcquireWake // the last look before sleeping
				continue
			}
			r.sleeps.Add(1)
			wctx, cancel := context.WithTimeout(ctx, r.Wait)
			_, err = conn.WaitForNotification(wctx)
			cancel()
			if err == nil {
				wake = store.ReleaseWake
			} else if ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("listen: %w", err)
			}
			continue
		}
		if held {
			wake = store.ReleaseWake // rows on the last look: stay awake
		}
		if err := r.publish(ctx, pending); err != nil {
			r.log.Warn("publishing failed; will retry", "error", err)
			backoff.sleep(ctx)
			continue
		}
		backoff.reset()
		sent = make([]int64, len(pending))
		for i, p := range pending {
			sent[i] = p.Seq
		}
	}
	return nil
}

// publish sends one batch of unsent rows to Kafka in one SendMessages call;
// the producer groups them into one produce request per partition leader,
// in order, so each task's events keep their order. A batch with any
// failure is retried whole: consumers deduplicate by event id, and a later
// event of a task never lands while an earlier one is missing.
func (r *Relay) publish(ctx context.Context, pending []store.Pending) error {
	if err := r.connect(); err != nil {
		return err
	}
	msgs := make([]*sarama.ProducerMessage, 0, 2*len(pending))
	for _, p := range pending {
		m, err := kafka.Messages(ctx, p.Event)
		if err != nil {
			return err
		}
		msgs = append(msgs, m...)
	}
	if err := r.producer.SendMessages(msgs); err != nil {
		telemetry.PublishFailures.Inc()
		// A producer that failed may hold a broken connection: start afresh.
		_ = r.producer.Close()
		r.producer = nil
		r.connected.Store(false)
		return fmt.Errorf("send %d messages: %w", len(msgs), err)
	}
	r.published.Add(int64(len(pending)))
	for _, p := range pending {
		for _, topic := range p.Topics {
			telemetry.Published.WithLabelValues(topic, p.Type).Inc()
		}
	}
	return nil
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
