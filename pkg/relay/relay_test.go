package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

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
