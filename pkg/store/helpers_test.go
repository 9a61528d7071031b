package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/task"
)

// deleting is the step of a delete at now.
func deleting(now time.Time) func(task.Task) ops.Write {
	return func(cur task.Task) ops.Write { return ops.Delete(cur, now) }
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// count runs a counting query on the test database directly, to assert rows.
func count(t *testing.T, url, sql string, args ...any) int64 {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int64
	if err := c.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
