package broker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/taskflow/taskflow/pkg/broker"
	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka/kafkatest"
	"github.com/taskflow/taskflow/pkg/store/storetest"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// commandStack is the part of the local stack a command event crosses: the
// embedded Kafka broker, the Broker with the real KafkaSource and Trigger
// manifests, and the real create and deadletter functions on PostgreSQL.
type commandStack struct {
	t         *testing.T
	kafka     string
	dbURL     string
	ingress   string
	manifests broker.Manifests
	services  map[string]string
}

func newCommandStack(t *testing.T) *commandStack {
	m, err := broker.Load("../../knative", "../../triggers")
	if err != nil {
		t.Fatal(err)
	}
	st, url := storetest.New(t)
	st.Source = events.Source("create")
	d := &fn.Deps{Store: st, Log: quiet, Now: time.Now}
	serve := func(h http.Handler) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	create := serve(fn.Events(quiet, consumers.CreateCommand(d)))
	dead := serve(fn.Events(quiet, consumers.DeadLetter(d)))
	other := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	services := map[string]string{}
	for _, tr := range m.Triggers {
		services[tr.Subscriber] = other
	}
	services["create"], services["deadletter"] = create, dead
	return &commandStack{t: t, kafka: kafkatest.Start(t), dbURL: url, ingress: kafkatest.FreeAddr(t),
		manifests: m, services: services}
}

// start runs the Broker until the returned stop is called (or the test ends).
func (s *commandStack) start() (stop func()) {
	b := &broker.Broker{Manifests: s.manifests, Brokers: []string{s.kafka}, Log: quiet, IngressAddr: s.ingress,
		Resolve: func(svc string) (string, bool) { u, ok := s.services[svc]; return u, ok }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				s.t.Errorf("broker: %v", err)
			}
		})
	}
	s.t.Cleanup(stop)
	return stop
}

// post sends a CloudEvent to the ingress (retrying while it starts) and
// returns the status.
func (s *commandStack) post(headers map[string]string, body string) int {
	s.t.Helper()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.ingress, strings.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			return res.StatusCode
		}
		if time.Now().After(end) {
			s.t.Fatal(err)
		}
	}
}

func (s *commandStack) count(sql string, args ...any) int64 {
	s.t.Helper()
	c, err := pgx.Connect(context.Background(), s.dbURL)
	if err != nil {
		s.t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n int64
	if err := c.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// command posts a normal dev.taskflow.task.create and waits (a few seconds
// at most) for its task in PostgreSQL.
func (s *commandStack) command(id, title string) {
	s.t.Helper()
	body := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"/crm","type":"dev.taskflow.task.create","data":{"user_id":"alice","task":{"title":%q}}}`, id, title)
	if status := s.post(map[string]string{"Content-Type": "application/cloudevents+json"}, body); status != http.StatusAccepted {
		s.t.Fatalf("command %s: %d", id, status)
	}
	for end := time.Now().Add(10 * time.Second); s.count(`SELECT count(*) FROM tasks WHERE title = $1`, title) != 1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			s.t.Fatalf("the task of command %s never appeared: the Broker is wedged", id)
		}
	}
}

// answered is how many command events the create function has answered, by
// any status.
func answered() float64 {
	n := 0.0
	for _, result := range []string{"ok", "refused", "retry"} {
		n += testutil.ToFloat64(telemetry.Consumed.WithLabelValues(events.TaskCreate, result))
	}
	return n
}

// TestOneBadEventNeverStopsTheOthers: each command event that can never
// succeed ends in the dead-letter sink, and a normal command event posted
// after it creates its task within seconds, also after the Broker restarts
// on the same topics and database.
func TestOneBadEventNeverStopsTheOthers(t *testing.T) {
	binary := func(ct string) map[string]string {
		return map[string]string{"Content-Type": ct, "Ce-Specversion": "1.0", "Ce-Id": "bad-1", "Ce-Source": "/crm",
			"Ce-Type": events.TaskCreate}
	}
	structured := map[string]string{"Content-Type": "application/cloudevents+json"}
	for _, c := range []struct {
		name    string
		headers map[string]string
		body    string
	}{
		{"data that is not JSON", binary("application/json"), `this is not json`},
		{"a NUL in the user id", structured,
			`{"specversion":"1.0","id":"bad-1","source":"/crm","type":"dev.taskflow.task.create","data":{"user_id":"al\u0000ice","task":{"title":"nul user"}}}`},
		{"a NUL in a JSON string of the data", structured,
			`{"specversion":"1.0","id":"bad-1","source":"/crm","type":"dev.taskflow.task.create","data":{"user_id":"alice","task":{"title":"x"},"note":"\u0000"}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newCommandStack(t)
			stop := s.start()
			before := answered()
			if status := s.post(c.headers, c.body); status != http.StatusAccepted {
				t.Fatalf("the bad event: %d", status)
			}
			// Once create has answered the bad event, the Broker is on it.
			for end := time.Now().Add(10 * time.Second); answered() == before; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(end) {
					t.Fatal("the bad event never reached create")
				}
			}
			s.command("good-1", "after the bad event")
			for end := time.Now().Add(10 * time.Second); s.count(`SELECT count(*) FROM dead_letters WHERE event_id = 'bad-1'`) != 1; time.Sleep(50 * time.Millisecond) {
				if time.Now().After(end) {
					t.Fatal("the bad event is not in the dead letters")
				}
			}
			stop()
			s.start()
			s.command("good-2", "after a restart")
			if n := s.count(`SELECT count(*) FROM tasks`); n != 2 {
				t.Errorf("%d tasks, want the 2 normal commands'", n)
			}
		})
	}
}
