package updates

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/kafka/kafkatest"
	"github.com/taskflow/taskflow/pkg/task"
)

const secret = "updates-secret-updates-secret-updates"

type sseMsg struct{ id, typ, data string }

// open starts a stream for user and returns its messages as they come.
func open(t *testing.T, base, user, lastID string) (<-chan sseMsg, func()) {
	t.Helper()
	res := request(t, base, user, lastID)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream answered %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := make(chan sseMsg, 100)
	go read(res.Body, out)
	// The stream reads from the end once it is open: wait for the first byte.
	time.Sleep(300 * time.Millisecond)
	return out, func() { res.Body.Close() }
}

func publish(t *testing.T, cl sarama.SyncProducer, user, title string, typ string) {
	t.Helper()
	tk := task.Task{ID: "0193f0c2-0000-7000-8000-00000000000" + string(rune('0'+len(title)%10)), UserID: user, Title: title,
		Status: task.Active, Priority: task.Medium, Tags: []string{}, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	var evs []events.Event
	switch typ {
	case events.TaskCreated:
		evs = events.Created("/taskflow/test", tk)
	case events.TaskSkipped:
		tk.IsRecurring, tk.Recurrence = true, &task.Recurrence{Frequency: task.Daily, Interval: 1}
		skipped, _, err := tk.Skip(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		evs = events.Changed("/taskflow/test", tk, skipped)
	default:
		evs = events.Deleted("/taskflow/test", tk, time.Now())
	}
	ce, err := kafka.CloudEvent(evs[0])
	if err != nil {
		t.Fatal(err)
	}
	kafkatest.Produce(t, cl, events.TopicTaskUpdates, ce)
}

// start runs a replica's reader of task-updates for the test and waits until
// it serves streams.
func start(t *testing.T, addr string) *Stream {
	t.Helper()
	s := New([]string{addr})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("reader: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); s.Ready(ctx) != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reader never started")
		}
	}
	return s
}

func next(t *testing.T, c <-chan sseMsg) sseMsg {
	t.Helper()
	select {
	case m := <-c:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
	}
	return sseMsg{}
}

func TestStreamsFanOutIsolateAndResume(t *testing.T) {
	addr := kafkatest.Start(t)
	v, _ := auth.NewVerifier(context.Background(), auth.Config{Secret: secret})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(fn.API(v, quiet, start(t, addr).Routes(nil)))
	defer srv.Close()
	cl := kafkatest.Producer(t, addr)

	tab1, close1 := open(t, srv.URL, "alice", "")
	tab2, close2 := open(t, srv.URL, "alice", "")
	bob, closeBob := open(t, srv.URL, "bob", "")
	defer close2()
	defer closeBob()
	publish(t, cl, "alice", "first", events.TaskCreated)
	var lastID string
	for _, tab := range []<-chan sseMsg{tab1, tab2} {
		m := next(t, tab)
		var body Message
		if err := json.Unmarshal([]byte(m.data), &body); err != nil || body.Type != "created" || body.Task == nil || body.Task.Title != "first" || m.typ != "created" || m.id == "" {
			t.Fatalf("message %+v %v", m, err)
		}
		lastID = m.id
	}
	// Bob's first message is his own event, not alice's.
	publish(t, cl, "bob", "bobs", events.TaskCreated)
	if m := next(t, bob); !strings.Contains(m.data, `"bobs"`) {
		t.Fatalf("bob received %+v", m)
	}
	// Tab 1 goes away; two changes happen; it comes back with Last-Event-ID.
	close1()
	publish(t, cl, "alice", "second", events.TaskCreated)
	publish(t, cl, "alice", "third!", events.TaskDeleted)
	if m := next(t, tab2); !strings.Contains(m.data, `"second"`) {
		t.Fatalf("tab 2: %+v", m)
	}
	back, closeBack := open(t, srv.URL, "alice", lastID)
	defer closeBack()
	if m := next(t, back); !strings.Contains(m.data, `"second"`) || m.typ != "created" {
		t.Fatalf("resumed stream first got %+v", m)
	}
	if m := next(t, back); !strings.Contains(m.data, `"third!"`) || m.typ != "deleted" {
		t.Fatalf("resumed stream then got %+v", m)
	}
	// A skipped occurrence is forwarded as "skipped".
	publish(t, cl, "alice", "skipped", events.TaskSkipped)
	if m := next(t, back); !strings.Contains(m.data, `"status":"skipped"`) || m.typ != "skipped" ||
		!strings.Contains(m.data, `"type":"skipped"`) {
		t.Fatalf("skipped: %+v", m)
	}
	// A position this stream never gave is refused.
	tok, _ := auth.Sign([]byte(secret), "alice", time.Now(), time.Hour)
	req, _ := http.NewRequest("GET", srv.URL+"/api/updates", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Last-Event-ID", "7:1")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 400 {
		t.Errorf("bad Last-Event-ID: %v %v", res.StatusCode, err)
	}
}
