// Package store is TaskFlow's PostgreSQL store on a pgx/v5 pool. SQL sits next
// to the method that runs it; driver errors become pkg/errs sentinels here,
// so callers never see pgx types.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"
	"github.com/jackc/tern/v2/migrate"

	"github.com/taskflow/taskflow/migrations"
	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
)

// Store reads and writes TaskFlow's tables.
type Store struct {
	pool *pgxpool.Pool
	// Source is the CloudEvents source of the events this store writes
	// (events.Source of the function); set once at start.
	Source string
}

// Open creates a pool for url. It does not connect until first use, so a
// function starts fast; Ping tells readiness.
func Open(ctx context.Context, url string, maxConns int32) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	// Every statement is bounded: a stuck query must not hold a request forever.
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = "10000"
	cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = "30000"
	// List queries differ only in their values, and a generic plan cannot see
	// that a due-date range or a tag is selective: always plan with the values.
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	return &Store{pool: pool, Source: events.Source("unknown")}, nil
}

// Close releases every connection.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return dbErr(s.pool.Ping(ctx))
}

// InTx runs fn in one transaction, committing when it returns nil.
func (s *Store) InTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return dbErr(pgx.BeginFunc(ctx, s.pool, fn))
}

// Migrate applies every migration in migrations/ that the database lacks.
// Concurrent callers serialise on tern's advisory lock.
func Migrate(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connect for migrations: %w", err)
	}
	defer conn.Close(ctx)
	m, err := migrate.NewMigrator(ctx, conn, "schema_version")
	if err != nil {
		return fmt.Errorf("migrator: %w", err)
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// dbErr turns driver errors into the error vocabulary, by SQLSTATE class
// (never by message text). Domain errors pass through untouched.
//
//   - class 22 (data exception: a NUL byte, invalid UTF-8, a value out of
//     range) and class 23 (integrity violation) are the client's: 400, and
//     409 for a unique or exclusion violation. A malformed id, timestamp or
//     parameter (22P02, 22007, 22008, 22023) names nothing that exists: 404,
//     as an invalid UUID in a path is.
//   - classes 08 (connection), 40 (rollback: serialization, deadlock),
//     53 (insufficient resources) and 57 (operator intervention: shutdown,
//     statement timeout) are transient: errs.ErrUnavailable, 503, retried.
//   - any other SQLSTATE (a syntax error, an undefined column) is TaskFlow's
//     bug: returned as it is, a logged 500.
//   - an error without a SQLSTATE means the server never answered (connection
//     refused or lost, timeout, closed pool): transient, like class 08. A
//     value pgx could not scan is a bug: 500.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.ErrNotFound
	}
	var inv *errs.Invalid
	if errors.As(err, &inv) || errors.Is(err, errs.ErrNotFound) || errors.Is(err, errs.ErrConflict) ||
		errors.Is(err, errs.ErrPrecondition) || errors.Is(err, context.Canceled) {
		return err
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		if unreachable(err) {
			return errs.Wrap(errs.ErrUnavailable, "database", err)
		}
		return fmt.Errorf("database: %w", err) // our own failure (a value that would not encode, a scan): a logged 500
	}
	switch class := pe.Code[:2]; {
	case pe.Code == "22P02", pe.Code == "22007", pe.Code == "22008", pe.Code == "22023":
		return fmt.Errorf("%w: %s", errs.ErrNotFound, pe.Code)
	case class == "22":
		return &errs.Invalid{Message: "a value cannot be stored: " + dataException(pe.Code)}
	case pe.Code == "23505", pe.Code == "23P01":
		return errs.Wrap(errs.ErrConflict, "duplicate "+pe.ConstraintName, err)
	case class == "23":
		return &errs.Invalid{Message: "the change violates a rule of the data (" + pe.Code + ")"}
	case class == "08", class == "40", class == "53", class == "57":
		return errs.Wrap(errs.ErrUnavailable, "database", err)
	}
	return fmt.Errorf("database: %w", err)
}

// dataException names a class 22 SQLSTATE for the client, without the
// server's message (which may quote SQL or other values).
func dataException(code string) string {
	switch code {
	case "22021":
		return "text must be valid UTF-8 without NUL characters"
	case "22001":
		return "a value is too long"
	case "22003":
		return "a number is out of range"
	case "22P05":
		return "text contains a character the database cannot store"
	}
	return "invalid value (" + code + ")"
}

// unreachable reports an error without a SQLSTATE that says the server could
// not be reached or the connection was lost: a dial or TLS failure, a timeout,
// a connection cut mid-statement, a pool that is closing. Retrying may succeed.
func unreachable(err error) bool {
	var connect *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connect) || errors.As(err, &netErr) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, puddle.ErrClosedPool)
}
