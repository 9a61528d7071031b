package store_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/store/storetest"
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
	return storetest.Count(t, url, sql, args...)
}
