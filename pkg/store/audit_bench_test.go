package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

// BenchmarkRecordAudit stores b.N audit entries from 32 writers, as the audit
// function receives 32 deliveries at once under load: each in its own
// statement and commit (one), or 32 per statement (batched, what the audit
// function's group commit does when they arrive together). ns/op is per entry.
func BenchmarkRecordAudit(b *testing.B) {
	st, _ := storetest.New(b)
	ctx := context.Background()
	task := uuid.NewString()
	var seq atomic.Int64
	entry := func() store.AuditRecord {
		return store.AuditRecord{User: "bench", TaskID: task, Entry: store.AuditEntry{
			EventID: fmt.Sprintf("e-%d", seq.Add(1)), Type: "dev.taskflow.task.created", Time: time.Now()}}
	}
	b.Run("one", func(b *testing.B) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for next.Add(1) <= int64(b.N) {
					r := entry()
					if _, err := st.RecordAudit(ctx, r.User, r.TaskID, r.Entry); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
	b.Run("batched", func(b *testing.B) {
		for i := 0; i < b.N; i += 32 {
			recs := make([]store.AuditRecord, min(32, b.N-i))
			for j := range recs {
				recs[j] = entry()
			}
			if _, err := st.RecordAudits(ctx, recs); err != nil {
				b.Fatal(err)
			}
		}
	})
}
