// Package storetest gives each test its own freshly migrated PostgreSQL
// database: a template is migrated once per schema version and cloned per test
// (CREATE DATABASE ... TEMPLATE), then dropped when the test ends.
//
// The server comes from TASKFLOW_TEST_DATABASE_URL (set by `make test`, which
// starts one when none answers), else postgres://postgres@127.0.0.1:5432.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/taskflow/taskflow/migrations"
	"github.com/taskflow/taskflow/pkg/store"
)

// ServerURL is the test server's admin URL.
func ServerURL() string {
	if u := os.Getenv("TASKFLOW_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NewURL creates a migrated database for t and returns its URL.
func NewURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := pgx.ParseConfig(ServerURL())
	if err != nil {
		t.Fatalf("parse TASKFLOW_TEST_DATABASE_URL: %v", err)
	}
	cfg.Database = "postgres"
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("no PostgreSQL for tests at %s (run `make test`, which starts one): %v", ServerURL(), err)
	}
	defer admin.Close(ctx)
	tpl := templateName()
	if err := ensureTemplate(ctx, admin, cfg, tpl); err != nil {
		t.Fatalf("template database: %v", err)
	}
	name := "tf_test_" + randHex(8)
	for i := 0; ; i++ {
		_, err = admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tpl)
		var pe *pgconn.PgError
		if err == nil || i == 50 || !errors.As(err, &pe) || pe.Code != "55006" { // template busy
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("clone template: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	db := *cfg
	db.Database = name
	return connString(&db)
}

// New returns a Store on a fresh database for t, closed when t ends.
func New(t testing.TB) (*store.Store, string) {
	t.Helper()
	url := NewURL(t)
	st, err := store.Open(context.Background(), url, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st, url
}

func connString(c *pgx.ConnConfig) string {
	u := &url.URL{Scheme: "postgres", User: url.User(c.User), Host: net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))),
		Path: "/" + c.Database, RawQuery: "sslmode=disable"}
	if c.Password != "" {
		u.User = url.UserPassword(c.User, c.Password)
	}
	return u.String()
}

// templateName changes whenever a migration does, so a stale template is never used.
func templateName() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".sql") {
			b, _ := fs.ReadFile(migrations.FS, p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	return "tf_template_" + hex.EncodeToString(h.Sum(nil))[:12]
}

// ensureTemplate creates and migrates tpl once; test binaries running in
// parallel serialise on an advisory lock.
func ensureTemplate(ctx context.Context, admin *pgx.Conn, cfg *pgx.ConnConfig, tpl string) error {
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(7351001)"); err != nil {
		return err
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock(7351001)") //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", tpl).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	build := tpl + "_build"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+build+" WITH (FORCE)"); err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+build); err != nil {
		return err
	}
	db := *cfg
	db.Database = build
	if err := store.Migrate(ctx, connString(&db)); err != nil {
		return err
	}
	_, err := admin.Exec(ctx, "ALTER DATABASE "+build+" RENAME TO "+tpl)
	return err
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Count runs a counting query on the database at url directly (outside any
// store), for tests that assert the rows a change left.
func Count(tb testing.TB, url, sql string, args ...any) int64 {
	tb.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close(ctx)
	var n int64
	if err := c.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}
