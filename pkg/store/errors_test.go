package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

// TestErrorsClassedBySQLSTATE: the server's errors become statuses by
// SQLSTATE class: data exceptions (22) and integrity violations (23) are the
// client's (400, 409 for a duplicate, 404 for a malformed id), connection,
// rollback, resource and shutdown classes (08, 40, 53, 57) a transient 503,
// anything else a 500; none of the server's text reaches the client.
func TestErrorsClassedBySQLSTATE(t *testing.T) {
	st, url := storetest.New(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// raise gets a real server error with the given SQLSTATE.
	raise := func(code string) error {
		_, err := conn.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'secret server text' USING ERRCODE = '`+code+`'; END $$`)
		if err == nil {
			t.Fatalf("no error raised for %s", code)
		}
		return err
	}
	exec := func(sql string) error {
		_, err := conn.Exec(ctx, sql)
		if err == nil {
			t.Fatalf("%s: no error", sql)
		}
		return err
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE probe (k text PRIMARY KEY, v int NOT NULL CHECK (v > 0), w varchar(3))`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO probe VALUES ('a', 1)`); err != nil {
		t.Fatal(err)
	}
	_, nulUser := st.Get(ctx, "al\x00ice", "0193f0c2-0000-7000-8000-000000000000")
	_, badID := st.Get(ctx, "alice", "not-a-uuid")
	nulTitle := newTask(t, "bob", `{"title":"x"}`, time.Now())
	nulTitle.Title = "a\x00b"
	_, _, nulCreate := st.Create(ctx, ops.Insert(nulTitle), nil)
	for _, c := range []struct {
		name   string
		err    error
		status int
	}{
		{"NUL in a user id (22021)", nulUser, 400},
		{"NUL in a title (22021)", nulCreate, 400},
		{"division by zero (22012)", store.DBErr(exec(`SELECT 1/0`)), 400},
		{"value too long (22001)", store.DBErr(exec(`INSERT INTO probe VALUES ('d', 1, 'abcdef')`)), 400},
		{"malformed uuid (22P02) names nothing", badID, 404},
		{"unique violation (23505)", store.DBErr(exec(`INSERT INTO probe VALUES ('a', 2)`)), 409},
		{"not-null violation (23502)", store.DBErr(exec(`INSERT INTO probe VALUES ('b', NULL)`)), 400},
		{"check violation (23514)", store.DBErr(exec(`INSERT INTO probe VALUES ('c', -1)`)), 400},
		{"connection failure (08006)", store.DBErr(raise("08006")), 503},
		{"serialization failure (40001)", store.DBErr(raise("40001")), 503},
		{"deadlock (40P01)", store.DBErr(raise("40P01")), 503},
		{"too many connections (53300)", store.DBErr(raise("53300")), 503},
		{"statement timeout (57014)", store.DBErr(exec(`SET statement_timeout = 10; SELECT pg_sleep(1)`)), 503},
		{"admin shutdown (57P01)", store.DBErr(raise("57P01")), 503},
		{"syntax error (42601)", store.DBErr(exec(`SELEKT 1`)), 500},
		{"undefined column (42703)", store.DBErr(exec(`SELECT nope FROM probe`)), 500},
		{"internal error (XX000)", store.DBErr(raise("XX000")), 500},
		{"feature not supported (0A000)", store.DBErr(raise("0A000")), 500},
		{"no server answer", store.DBErr(unreachableErr(t)), 503},
		{"a statement cut short by its deadline", store.DBErr(deadlineErr(t, conn)), 503},
		{"a value of ours that would not encode (no SQLSTATE)", store.DBErr(encodeErr(t, conn)), 500},
	} {
		status, detail := fn.Status(c.err)
		if status != c.status {
			t.Errorf("%s: %d (%v), want %d", c.name, status, c.err, c.status)
		}
		if strings.Contains(detail.Message, "secret server text") || strings.Contains(detail.Message, "SQLSTATE") {
			t.Errorf("%s: the client would see the server's text: %q", c.name, detail.Message)
		}
	}
	if _, err := conn.Exec(ctx, `SET statement_timeout = 0`); err != nil {
		t.Fatal(err)
	}
	// The sentinels callers test for, not only the status.
	if err := store.DBErr(raise("40001")); !errors.Is(err, errs.ErrUnavailable) {
		t.Errorf("40001 is not ErrUnavailable: %v", err)
	}
	var inv *errs.Invalid
	if !errors.As(nulUser, &inv) {
		t.Errorf("22021 is not an *errs.Invalid: %v", nulUser)
	}
}

// unreachableErr is what pgx gives when no server answers.
func unreachableErr(t *testing.T) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err == nil {
		c.Close(ctx)
		t.Fatal("a server answered on port 1")
	}
	return err
}

// deadlineErr is what pgx gives when the caller's deadline ends a statement.
func deadlineErr(t *testing.T, conn *pgx.Conn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c, err := pgx.ConnectConfig(context.Background(), conn.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err = c.Exec(ctx, `SELECT pg_sleep(2)`); err == nil {
		t.Fatal("pg_sleep outlived its deadline")
	}
	return err
}

// encodeErr is a failure of TaskFlow's own making, before any byte reaches the
// server: a value pgx cannot encode. Retrying it can never succeed.
func encodeErr(t *testing.T, conn *pgx.Conn) error {
	t.Helper()
	_, err := conn.Exec(context.Background(), `SELECT $1::int`, struct{ X chan int }{})
	if err == nil {
		t.Fatal("pgx encoded a channel")
	}
	return err
}
