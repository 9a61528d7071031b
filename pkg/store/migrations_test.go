package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"

	"github.com/taskflow/taskflow/migrations"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

// TestDeadLetterMigrationKeepsData: migration 009 turns the dead letters kept
// as structured JSON into bytes with their content type (JSON data, text
// data, base64 binary data, no data), and rows the previous revision of the
// sink still writes during a rollout are converted the same way.
func TestDeadLetterMigrationKeepsData(t *testing.T) {
	ctx := context.Background()
	conn, m := migratedTo(t, 8)
	old := map[string]string{ // event id → the whole event as 008 kept it
		"json":   `{"specversion":"1.0","id":"json","source":"/s","type":"t","datacontenttype":"application/json","data":{"a":[1,2]}}`,
		"text":   `{"specversion":"1.0","id":"text","source":"/s","type":"t","datacontenttype":"text/plain","data":"hello\nworld"}`,
		"str":    `{"specversion":"1.0","id":"str","source":"/s","type":"t","datacontenttype":"application/json","data":"a JSON string"}`,
		"binary": `{"specversion":"1.0","id":"binary","source":"/s","type":"t","datacontenttype":"application/octet-stream","data_base64":"AP/+eACA"}`,
		"none":   `{"specversion":"1.0","id":"none","source":"/s","type":"t","subject":"x"}`,
	}
	insertOld := func(id string) {
		if _, err := conn.Exec(ctx, `INSERT INTO dead_letters (event_id, source, type, event) VALUES ($1, '/s', 't', $2)`,
			id, old[id]); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"json", "text", "str", "binary"} {
		insertOld(id)
	}
	if err := m.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	insertOld("none") // the previous revision, during a rollout
	want := map[string]struct {
		ct   *string
		data []byte
	}{
		"json":   {ptr("application/json"), []byte(`{"a": [1, 2]}`)},
		"text":   {ptr("text/plain"), []byte("hello\nworld")},
		"str":    {ptr("application/json"), []byte(`"a JSON string"`)},
		"binary": {ptr("application/octet-stream"), []byte{0, 0xff, 0xfe, 'x', 0, 0x80}},
		"none":   {nil, nil},
	}
	rows, err := conn.Query(ctx, `SELECT event_id, datacontenttype, data, attributes, event IS NULL FROM dead_letters`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var (
			id      string
			ct      *string
			data    []byte
			attrs   map[string]any
			dropped bool
		)
		if err := rows.Scan(&id, &ct, &data, &attrs, &dropped); err != nil {
			t.Fatal(err)
		}
		n++
		w := want[id]
		if (ct == nil) != (w.ct == nil) || (ct != nil && *ct != *w.ct) {
			t.Errorf("%s: content type %v, want %v", id, ct, w.ct)
		}
		if !bytes.Equal(data, w.data) || (data == nil) != (w.data == nil) {
			t.Errorf("%s: data %q, want %q", id, data, w.data)
		}
		if attrs["id"] != id || attrs["source"] != "/s" || attrs["data"] != nil || attrs["data_base64"] != nil {
			t.Errorf("%s: attributes %v", id, attrs)
		}
		if id == "none" && (attrs["subject"] != "x" || !dropped) {
			t.Errorf("a row written the old way is not converted: %v, event kept %v", attrs, !dropped)
		}
	}
	if rows.Err() != nil || n != len(want) {
		t.Fatalf("%d rows, %v", n, rows.Err())
	}
}

func ptr(s string) *string { return &s }

// migratedTo creates a database for t migrated to version and returns a
// connection to it and its migrator.
func migratedTo(t *testing.T, version int32) (*pgx.Conn, *migrate.Migrator) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, storetest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "tf_test_mig_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, err := pgx.Connect(context.Background(), storetest.ServerURL())
		if err != nil {
			t.Error(err)
			return
		}
		defer admin.Close(context.Background())
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	cfg, _ := pgx.ParseConfig(storetest.ServerURL())
	cfg.Database = name
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	m, err := migrate.NewMigrator(ctx, conn, "schema_version")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		t.Fatal(err)
	}
	if err := m.MigrateTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	return conn, m
}

// TestTagCountsBackfill: migration 011 counts the tasks already stored, a
// task once per key even when a row repeats one, as the subquery did.
func TestTagCountsBackfill(t *testing.T) {
	ctx := context.Background()
	conn, m := migratedTo(t, 10)
	if _, err := conn.Exec(ctx, `INSERT INTO tags (user_id, key, name, color) VALUES
			('alice', 'work', 'Work', '#000000'), ('alice', 'home', 'home', '#000000'),
			('alice', 'none', 'none', '#000000'), ('bob', 'work', 'work', '#000000');
		INSERT INTO tasks (id, user_id, title, status, priority, tags, tag_keys, created_at, updated_at)
		SELECT gen_random_uuid(), u, 't', 'active', 1, k, k, now(), now()
		FROM (VALUES ('alice', '{work,home}'::text[]), ('alice', '{work,work}'), ('alice', '{}'),
			('alice', '{stray}'), ('bob', '{work}'), ('bob', '{home}')) AS v(u, k)`); err != nil {
		t.Fatal(err)
	}
	if err := m.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var diff int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM tags g WHERE
			(SELECT count(*) FROM tasks t WHERE t.user_id = g.user_id AND t.tag_keys @> ARRAY[g.key]) <>
			(SELECT coalesce(sum(n), 0) FROM tag_counts c WHERE c.user_id = g.user_id AND c.key = g.key)`).Scan(&diff); err != nil {
		t.Fatal(err)
	}
	var work int64
	if err := conn.QueryRow(ctx, `SELECT n FROM tag_counts WHERE user_id = 'alice' AND key = 'work' AND shard = 0`).Scan(&work); err != nil {
		t.Fatal(err)
	}
	if diff != 0 || work != 2 {
		t.Errorf("%d tags counted otherwise than by the subquery; alice's work: %d", diff, work)
	}
}
