// Package consumers holds the event-driven functions' handlers: each turns a
// CloudEvent into one idempotent effect in the store.
package consumers

import (
	"context"
	"encoding/json"
	"sync"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/task"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

// taskData decodes a task.* event's payload; a payload that does not decode
// can never succeed (400, no retry).
func taskData(e cloudevents.Event) (events.TaskData, error) {
	var d events.TaskData
	if err := json.Unmarshal(e.Data(), &d); err != nil {
		return d, errs.Invalidf("event data is not a task payload: " + err.Error())
	}
	if d.UserID == "" || !task.ValidID(d.Task.ID) {
		return d, errs.Invalidf("event data lacks user_id or task.id")
	}
	d.Task.UserID = d.UserID
	d.Task.RestoreAllDay(d.AllDay)
	return d, nil
}

// Audit records every task.* event once per event id, with its field changes
// and its source (who made them). Deliveries that arrive while an insert is
// running are stored together by the next one (see auditBatch): one commit
// for many events under load, and each delivery is answered only once its
// own event is stored.
func Audit(d *fn.Deps) map[string]fn.EventHandler {
	b := &auditBatch{store: d.Store}
	h := func(ctx context.Context, e cloudevents.Event) error {
		data, err := taskData(e)
		if err != nil {
			return err
		}
		source := e.Source() // who made the change: the function that emitted it
		first, err := b.record(ctx, store.AuditRecord{User: data.UserID, TaskID: data.Task.ID, Entry: store.AuditEntry{
			EventID: e.ID(), Type: e.Type(), Time: e.Time().UTC(), Changes: events.ChangesOf(e.Type(), data),
			Source: &source}})
		if err == nil && !first {
			telemetry.Duplicates.WithLabelValues("audit").Inc()
		}
		return err // a duplicate is done already: nil
	}
	return map[string]fn.EventHandler{
		events.TaskCreated: h, events.TaskUpdated: h, events.TaskCompleted: h, events.TaskSkipped: h,
		events.TaskDeleted: h,
	}
}

// maxAuditBatch bounds the events one audit insert stores.
const maxAuditBatch = 128

// auditBatch is a group commit: the first delivery to find no insert running
// stores every record queued so far in one statement, and keeps doing so
// until the queue is empty; the others wait for the insert that holds their
// record. Nothing waits on a timer: with one delivery at a time each is
// stored alone, at once.
type auditBatch struct {
	store   *store.Store
	mu      sync.Mutex
	queue   []*auditWait
	running bool
}

// auditWait is one queued record and, once its insert ended, the outcome.
type auditWait struct {
	rec   store.AuditRecord
	first bool
	err   error
	done  chan struct{}
}

// record stores rec (with whatever else is queued) and reports whether it
// was new. A delivery whose context ends first gets its context's error
// (a retry), though its record may still be stored: the retry is then a
// duplicate, which is done already.
func (b *auditBatch) record(ctx context.Context, rec store.AuditRecord) (bool, error) {
	w := &auditWait{rec: rec, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, w)
	lead := !b.running
	b.running = true
	b.mu.Unlock()
	if lead {
		b.drain(context.WithoutCancel(ctx))
	}
	select {
	case <-w.done:
		return w.first, w.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// drain stores one batch of the queue, at most maxAuditBatch records; if
// more are queued, another goroutine goes on, so that the delivery that led
// is answered once its own record is stored.
func (b *auditBatch) drain(ctx context.Context) {
	b.mu.Lock()
	n := min(len(b.queue), maxAuditBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()
	b.store1(ctx, batch)
	b.mu.Lock()
	more := len(b.queue) > 0
	b.running = more
	b.mu.Unlock()
	if more {
		go b.drain(ctx)
	}
}

// store1 inserts batch in one statement. If that fails with more than one
// record, each is inserted alone, so that one record the database refuses
// (a 4xx) fails only its own delivery.
func (b *auditBatch) store1(ctx context.Context, batch []*auditWait) {
	recs := make([]store.AuditRecord, len(batch))
	for i, w := range batch {
		recs[i] = w.rec
	}
	first, err := b.store.RecordAudits(ctx, recs)
	if err != nil && len(batch) > 1 {
		for _, w := range batch {
			b.store1(ctx, []*auditWait{w})
		}
		return
	}
	for i, w := range batch {
		if err != nil {
			w.err = err
		} else {
			w.first = first[i]
		}
		close(w.done)
	}
}
