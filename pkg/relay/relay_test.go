package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/kafka/kafkatest"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
	"github.com/taskflow/taskflow/pkg/task"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newTask(t *testing.T, user, title string) task.Task {
	in, _, err := task.ParseInput([]byte(`{"title":"` + title + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := task.New(user, in, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// consume reads topic from the start until want distinct event ids arrived
// (or the deadline passes) and returns the records by event id.
func consume(t *testing.T, addr, topic string, want int, within time.Duration) map[string]*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]*kgo.Record{}
	deadline := time.Now().Add(within)
	for len(got) < want && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == "ce_id" {
					got[string(h.Value)] = r
				}
			}
		})
	}
	return got
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func startRelay(t *testing.T, st *store.Store, url, kafkaAddr string) *Relay {
	r := New(Config{Config: kafka.Config{Brokers: []string{kafkaAddr}}, Batch: 200}, st, url, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// TestKafkaDownThenUp: 1,000 tasks are created while no broker answers; when
// it starts, every event arrives on both topics and the outbox drains.
func TestKafkaDownThenUp(t *testing.T) {
	st, url := storetest.New(t)
	addr := kafkatest.FreeAddr(t)
	r := startRelay(t, st, url, addr)
	ctx := context.Background()
	ids := map[string]bool{}
	for i := range 1000 {
		tk, _, err := st.Create(ctx, ops.Insert(newTask(t, "alice", fmt.Sprint("t", i))), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[tk.ID] = true
	}
	time.Sleep(300 * time.Millisecond)
	if n, _, _ := st.Backlog(ctx); n != 1000 {
		t.Fatalf("backlog %d with Kafka down, want 1000", n)
	}
	cluster, err := kafka.Embedded(addr, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	for _, topic := range []string{events.TopicTaskEvents, events.TopicTaskUpdates} {
		got := consume(t, addr, topic, 1000, 60*time.Second)
		if len(got) != 1000 {
			t.Fatalf("%s: %d of 1000 events arrived", topic, len(got))
		}
		for _, rec := range got {
			if !ids[string(rec.Key)] || header(rec, "ce_type") != events.TaskCreated ||
				header(rec, "ce_specversion") != "1.0" || header(rec, "content-type") != "application/json" {
				t.Fatalf("record not a binary-mode task.created keyed by task id: key %s headers %v", rec.Key, rec.Headers)
			}
			var d events.TaskData
			if err := json.Unmarshal(rec.Value, &d); err != nil || d.Task.ID != string(rec.Key) || d.UserID != "alice" {
				t.Fatalf("payload %s: %v", rec.Value, err)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, _, _ := st.Backlog(ctx)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog still %d", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.Published() < 1000 {
		t.Errorf("published %d", r.Published())
	}
}

// TestConcurrentWritersNothingSkipped: 100 writers create and then complete
// tasks concurrently (their transactions commit out of sequence order); every
// event arrives, and each task's events keep their order in its partition.
func TestConcurrentWritersNothingSkipped(t *testing.T) {
	st, url := storetest.New(t)
	addr := kafkatest.Start(t)
	startRelay(t, st, url, addr)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 100 {
		wg.Go(func() {
			for i := range 5 {
				tk, _, err := st.Create(ctx, ops.Insert(newTask(t, fmt.Sprint("user", w%7), fmt.Sprint("w", w, "-", i))), nil)
				if err != nil {
					t.Error(err)
					return
				}
				_, _, err = st.Update(ctx, tk.UserID, tk.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
					next, ch := ops.Complete(cur, time.Now().UTC())
					return next, ch, nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got := consume(t, addr, events.TopicTaskEvents, 1000, 60*time.Second)
	if len(got) != 1000 {
		t.Fatalf("%d of 1000 events arrived", len(got))
	}
	created := map[string]int64{}
	for _, rec := range got {
		if header(rec, "ce_type") == events.TaskCreated {
			created[string(rec.Key)] = rec.Offset
		}
	}
	for _, rec := range got {
		if header(rec, "ce_type") == events.TaskCompleted {
			off, ok := created[string(rec.Key)]
			if !ok || off > rec.Offset {
				t.Fatalf("task %s: completed (offset %d) before created (offset %d, found %v)", rec.Key, rec.Offset, off, ok)
			}
		}
	}
}

// TestBrokerRestartMidStream: the embedded broker is stopped while tasks are
// being created and started again on its data directory; every event is on
// the topic afterwards.
func TestBrokerRestartMidStream(t *testing.T) {
	st, url := storetest.New(t)
	addr := kafkatest.FreeAddr(t)
	data := t.TempDir()
	cluster, err := kafka.Embedded(addr, data)
	if err != nil {
		t.Fatal(err)
	}
	startRelay(t, st, url, addr)
	ctx := context.Background()
	for i := range 600 {
		if i == 200 {
			cluster.Close()
		}
		if i == 400 {
			if cluster, err = kafka.Embedded(addr, data); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := st.Create(ctx, ops.Insert(newTask(t, "alice", fmt.Sprint("r", i))), nil); err != nil {
			t.Fatal(err)
		}
	}
	defer cluster.Close()
	if got := consume(t, addr, events.TopicTaskEvents, 600, 60*time.Second); len(got) != 600 {
		t.Fatalf("%d of 600 events after a broker restart", len(got))
	}
}

// listen counts the outbox's notifications on a connection of its own. The
// count it returns covers every notification committed before the call:
// it sends one of its own and waits for it, notifications being delivered
// in commit order.
func listen(t *testing.T, url string) (count func() int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "LISTEN taskflow_outbox"); err != nil {
		t.Fatal(err)
	}
	sender, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	marks := make(chan string, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			note, err := conn.WaitForNotification(ctx)
			if err != nil {
				return
			}
			if note.Payload != "" {
				marks <- note.Payload
				continue
			}
			n.Add(1)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = conn.Close(context.Background())
		_ = sender.Close(context.Background())
	})
	sent := 0
	return func() int64 {
		t.Helper()
		sent++
		mark := fmt.Sprint("mark", sent)
		if _, err := sender.Exec(ctx, "SELECT pg_notify('taskflow_outbox', $1)", mark); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-marks:
			if got != mark {
				t.Fatalf("listener got mark %q, want %q", got, mark)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("listener: own notification not received")
		}
		return n.Load()
	}
}

// waitUntil polls cond every 10 ms until it holds, failing the test after within.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNoNotificationWhileBusy: while the relay is awake (here retrying a
// Kafka that does not answer), writes send no notification; the outbox's
// trigger notifies only a sleeping relay.
func TestNoNotificationWhileBusy(t *testing.T) {
	st, url := storetest.New(t)
	notes := listen(t, url)
	r := startRelay(t, st, url, kafkatest.FreeAddr(t))
	waitUntil(t, 30*time.Second, "relay asleep", func() bool { return r.Sleeps() > 0 })
	ctx := context.Background()
	if _, _, err := st.Create(ctx, ops.Insert(newTask(t, "alice", "wakes it")), nil); err != nil {
		t.Fatal(err)
	}
	before := notes()
	if before == 0 {
		t.Fatal("no notification for a write while the relay slept")
	}
	for i := range 200 {
		if _, _, err := st.Create(ctx, ops.Insert(newTask(t, "alice", fmt.Sprint("busy", i))), nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := notes() - before; n > 5 {
		t.Errorf("%d notifications for 200 writes while the relay was awake, want at most the few sent before it woke", n)
	}
	if n, _, _ := st.Backlog(ctx); n != 201 {
		t.Errorf("backlog %d, want 201", n)
	}
}

// TestLastLookWaitsForOpenWriter: a writer that shared the wake lock (the
// relay was awake) commits while the relay is about to sleep. It sends no
// notification, and its event is published anyway: the relay's acquisition
// of the lock waits for the writer, and its last look sees the row. The
// relay's safety-net wake-up is set far beyond the test, so only that path
// can publish it. Then, with the relay asleep, a write notifies and is
// published.
func TestLastLookWaitsForOpenWriter(t *testing.T) {
	st, url := storetest.New(t)
	addr := kafkatest.Start(t)
	notes := listen(t, url)
	ctx := context.Background()

	w, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	tx, err := w.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := "0b9a5a52-6f1e-4c39-9a53-2d2f4f7c1a01"
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (event_id, type, source, subject, topics, time, data)
		VALUES ($1, $2, 'test', 'task-1', $3, now(), '{}')`, id, events.TaskCreated, []string{events.TopicTaskEvents}); err != nil {
		t.Fatal(err)
	}

	r := New(Config{Config: kafka.Config{Brokers: []string{addr}}, Batch: 200}, st, url, quiet)
	r.Wait = 10 * time.Minute
	r.LockWait = 10 * time.Minute
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = r.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitUntil(t, 30*time.Second, "relay waiting for the open writer", func() bool {
		var n int
		err := w.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`,
			store.WakeLock).Scan(&n)
		return err == nil && n == 1
	})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := consume(t, addr, events.TopicTaskEvents, 1, 30*time.Second); got[id] == nil {
		t.Fatalf("the open writer's event was not published (got %d)", len(got))
	}
	if n := notes(); n != 0 {
		t.Errorf("%d notifications, want none: the writer committed while the relay was awake", n)
	}

	waitUntil(t, 30*time.Second, "relay asleep", func() bool { return r.Sleeps() > 0 })
	tk, _, err := st.Create(ctx, ops.Insert(newTask(t, "alice", "while asleep")), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := consume(t, addr, events.TopicTaskEvents, 2, 30*time.Second)
	found := false
	for _, rec := range got {
		found = found || string(rec.Key) == tk.ID
	}
	if !found {
		t.Fatalf("the event written while the relay slept was not published")
	}
	if n := notes(); n != 1 {
		t.Errorf("%d notifications, want 1: the relay was asleep", n)
	}
}
