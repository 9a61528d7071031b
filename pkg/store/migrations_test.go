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
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	cfg, _ := pgx.ParseConfig(storetest.ServerURL())
	cfg.Database = name
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	m, err := migrate.NewMigrator(ctx, conn, "schema_version")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		t.Fatal(err)
	}
	if err := m.MigrateTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
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
