package broker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/prometheus/client_golang/prometheus/testutil"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/kafka/kafkatest"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// delivery is a Trigger's delivery spec: retries, the first backoff (an ISO
// 8601 duration), linear or exponential, and a dead-letter Service ("" for none).
func delivery(retry int32, backoff string, linear bool, dls string) eventingduckv1.DeliverySpec {
	policy := eventingduckv1.BackoffPolicyExponential
	if linear {
		policy = eventingduckv1.BackoffPolicyLinear
	}
	d := eventingduckv1.DeliverySpec{Retry: &retry, BackoffDelay: &backoff, BackoffPolicy: &policy}
	if dls != "" {
		d.DeadLetterSink = &duckv1.Destination{Ref: &duckv1.KReference{Kind: "Service", Name: dls}}
	}
	return d
}

func TestLoadsTheRealManifests(t *testing.T) {
	m, err := Load("../../knative", "../../triggers")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Sources) < 2 || len(m.Triggers) < 5 {
		t.Fatalf("sources %v triggers %v", m.Sources, m.Triggers)
	}
	ordered := map[string]bool{}
	for _, src := range m.Sources {
		ordered[src.Name] = src.Ordered
	}
	if !ordered["task-events"] {
		t.Errorf("the task-events KafkaSource must be ordered for the ordered Triggers to see task order")
	}
	for _, tr := range m.Triggers {
		d := tr.Delivery
		if tr.DeadLetter() != "deadletter" || *d.Retry != 20 || *d.BackoffDelay != "PT1S" ||
			*d.BackoffPolicy != eventingduckv1.BackoffPolicyLinear || d.Timeout == nil || *d.Timeout != "PT30S" {
			t.Errorf("trigger %s delivery %+v", tr.Name, d)
		}
		taskOrder := tr.Subscriber == "reminder" && strings.HasPrefix(tr.Filter["type"], "dev.taskflow.task.")
		if tr.Ordered != taskOrder {
			t.Errorf("trigger %s: ordered %v; only the reminder function's task Triggers need a task's events in order", tr.Name, tr.Ordered)
		}
	}
	// A Trigger's unset fields come from the Broker's delivery.
	retry := int32(3)
	got := merge(&eventingduckv1.DeliverySpec{Retry: &retry}, m.Default)
	if *got.Retry != 3 || got.BackoffDelay != m.Default.BackoffDelay || got.DeadLetterSink != m.Default.DeadLetterSink {
		t.Errorf("merged delivery %+v over %+v", got, m.Default)
	}
}

// subscriber records what it receives and answers what status says.
type subscriber struct {
	mu     sync.Mutex
	got    []cloudevents.Event
	status func(n int) int
	srv    *httptest.Server
}

func newSubscriber(t *testing.T, status func(n int) int) *subscriber {
	s := &subscriber{status: status}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := cloudevents.New(), error(nil)
		ev, err := cehttpToEvent(r)
		if err == nil {
			e = *ev
		}
		s.mu.Lock()
		s.got = append(s.got, e)
		n := len(s.got)
		s.mu.Unlock()
		w.WriteHeader(s.status(n))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *subscriber) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.got) }

func cehttpToEvent(r *http.Request) (*cloudevents.Event, error) {
	return cehttp.NewEventFromHTTPRequest(r)
}

func event(id, typ string) cloudevents.Event {
	e := cloudevents.New()
	e.SetID(id)
	e.SetType(typ)
	e.SetSource("/test")
	e.SetSubject("task-" + id)
	_ = e.SetData("application/json", []byte(`{"n":1}`))
	return e
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRetriesDeadLettersAndIngress(t *testing.T) {
	kafkaAddr := kafkatest.Start(t)
	flaky := newSubscriber(t, func(n int) int { // fails twice, then takes it
		if n <= 2 {
			return 503
		}
		return 202
	})
	refuses := newSubscriber(t, func(int) int { return 400 })
	dls := newSubscriber(t, func(int) int { return 200 })
	urls := map[string]string{"flaky": flaky.srv.URL, "refuses": refuses.srv.URL, "dls": dls.srv.URL}
	del := delivery(3, "PT0.01S", false, "dls")
	b := &Broker{
		Manifests: Manifests{
			Sources: []Source{{Name: "te", Topics: []string{"task-events"}, ConsumerGroup: "test-te"}},
			Triggers: []Trigger{
				{Name: "to-flaky", Filter: map[string]string{"type": "dev.taskflow.x"}, Subscriber: "flaky", Delivery: del},
				{Name: "to-refuses", Filter: map[string]string{"type": "dev.taskflow.y"}, Subscriber: "refuses", Delivery: del},
			},
		},
		Brokers:     []string{kafkaAddr},
		Resolve:     func(s string) (string, bool) { u, ok := urls[s]; return u, ok },
		Log:         quiet,
		IngressAddr: kafkatest.FreeAddr(t),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()

	produce(t, kafkaAddr, event("1", "dev.taskflow.x"), event("2", "dev.taskflow.y"), event("3", "dev.taskflow.z"))
	eventually(t, "flaky to take the event on its third try", func() bool { return flaky.count() == 3 })
	eventually(t, "the refused event in the dead-letter sink", func() bool { return dls.count() == 1 })
	time.Sleep(200 * time.Millisecond)
	if refuses.count() != 1 {
		t.Errorf("a 400 was retried: %d deliveries", refuses.count())
	}
	if d := dls.got[0]; d.ID() != "2" || d.Extensions()["knativeerrorcode"] != "400" || d.Extensions()["knativeerrordest"] != refuses.srv.URL {
		t.Errorf("dead letter %v", d)
	}
	if flaky.count() != 3 || dls.count() != 1 {
		t.Errorf("unmatched event delivered somewhere: flaky %d dls %d", flaky.count(), dls.count())
	}

	// The ingress takes structured and binary events, refuses the rest.
	base := "http://" + b.IngressAddr
	res, err := http.Post(base, "application/cloudevents+json",
		bytes.NewBufferString(`{"specversion":"1.0","id":"4","source":"/crm","type":"dev.taskflow.x","data":{"a":1}}`))
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("structured post: %v %v", res, err)
	}
	eventually(t, "the ingress event at flaky", func() bool { return flaky.count() == 4 })
	for name, r := range map[string]*http.Request{
		"plain json": mustReq(base, "application/json", `{"a":1}`, nil),
		"broken":     mustReq(base, "application/cloudevents+json", `{"specversion":"1.0",`, nil),
		"no id":      mustReq(base, "application/json", `{}`, map[string]string{"Ce-Specversion": "1.0", "Ce-Type": "x", "Ce-Source": "/s"}),
		"NUL in id": mustReq(base, "application/cloudevents+json",
			`{"specversion":"1.0","id":"a\u0000b","source":"/crm","type":"dev.taskflow.x"}`, nil),
		"control in an extension": mustReq(base, "application/cloudevents+json",
			`{"specversion":"1.0","id":"5","source":"/crm","type":"dev.taskflow.x","note":"a\u0001b"}`, nil),
	} {
		res, err := http.DefaultClient.Do(r)
		if err != nil || res.StatusCode != 400 {
			t.Errorf("%s: %v %v", name, res.StatusCode, err)
		}
	}
}

// TestIngressTakesOnlyWhatKafkaTakes: an event within the ingress's 1 MiB
// body limit but too large for a Kafka record (1.03 MB of data) is refused
// with 413, not a 503 its sender would retry forever; one just within the
// record limit is accepted and delivered.
func TestIngressTakesOnlyWhatKafkaTakes(t *testing.T) {
	kafkaAddr := kafkatest.Start(t)
	sub := newSubscriber(t, func(int) int { return 200 })
	b := &Broker{
		Manifests: Manifests{Triggers: []Trigger{{Name: "t", Filter: map[string]string{"type": "dev.taskflow.big"}, Subscriber: "sub",
			Delivery: delivery(1, "PT0.001S", false, "")}}},
		Brokers: []string{kafkaAddr}, Log: quiet, IngressAddr: kafkatest.FreeAddr(t),
		Resolve: func(string) (string, bool) { return sub.srv.URL, true },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()
	post := func(id string, dataBytes int) (int, string) {
		body := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"/crm","type":"dev.taskflow.big","datacontenttype":"text/plain","data":%q}`,
			id, bytes.Repeat([]byte("x"), dataBytes))
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			res, err := http.Post("http://"+b.IngressAddr, "application/cloudevents+json", bytes.NewBufferString(body))
			if err == nil {
				msg, _ := io.ReadAll(res.Body)
				res.Body.Close()
				return res.StatusCode, string(msg)
			}
			if time.Now().After(end) {
				t.Fatal(err)
			}
		}
	}
	if status, msg := post("big", 1_030_000); status != http.StatusRequestEntityTooLarge ||
		!strings.Contains(msg, `"code":"payload_too_large"`) || !strings.Contains(msg, "Kafka record") {
		t.Errorf("1.03 MB event: %d %s, want 413 with the error envelope naming the record limit", status, msg)
	}
	if status, _ := post("huge", 1<<20); status != http.StatusRequestEntityTooLarge {
		t.Errorf("event over 1 MiB: %d, want 413", status)
	}
	if status, msg := post("fits", MaxRecordBytes-2000); status != http.StatusAccepted {
		t.Fatalf("event within the record limit: %d %s, want 202", status, msg)
	}
	eventually(t, "the largest event delivered", func() bool { return sub.count() == 1 })
	if got := sub.got[0]; got.ID() != "fits" || len(got.Data()) != MaxRecordBytes-2000 {
		t.Errorf("delivered %s with %d bytes", got.ID(), len(got.Data()))
	}
}

func mustReq(url, ct, body string, headers map[string]string) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	r.Header.Set("Content-Type", ct)
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

// runBroker runs a Broker with one source on task-events (consumer group
// group) and triggers, resolving Services through urls, until the test ends
// or the returned stop is called.
func runBroker(t *testing.T, kafkaAddr, group string, triggers []Trigger, urls map[string]string) (stop func()) {
	b := &Broker{Manifests: Manifests{
		Sources:  []Source{{Name: "te", Topics: []string{"task-events"}, ConsumerGroup: group}},
		Triggers: triggers,
	}, Brokers: []string{kafkaAddr}, Resolve: func(s string) (string, bool) { u, ok := urls[s]; return u, ok }, Log: quiet}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("broker: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func produce(t *testing.T, kafkaAddr string, evs ...cloudevents.Event) {
	t.Helper()
	kafkatest.Produce(t, kafkatest.Producer(t, kafkaAddr), "task-events", evs...)
}

// TestGivenUpWhenTheDeadLetterSinkFails: an event that neither its
// subscriber nor the dead-letter sink takes (or that has no sink) is given
// up as Knative's dispatcher does: logged, counted, committed. The events
// after it are delivered, and after a restart it is not delivered again.
func TestGivenUpWhenTheDeadLetterSinkFails(t *testing.T) {
	kafkaAddr := kafkatest.Start(t)
	down := newSubscriber(t, func(int) int { return 503 })
	dls := newSubscriber(t, func(int) int { return 500 })
	up := newSubscriber(t, func(int) int { return 200 })
	urls := map[string]string{"down": down.srv.URL, "dls": dls.srv.URL, "up": up.srv.URL}
	del := delivery(2, "PT0.001S", false, "dls")
	triggers := []Trigger{
		{Name: "to-down", Filter: map[string]string{"type": "dev.taskflow.x"}, Subscriber: "down", Delivery: del},
		{Name: "to-down-no-dls", Filter: map[string]string{"type": "dev.taskflow.z"}, Subscriber: "down", Delivery: delivery(1, "PT0.001S", false, "")},
		{Name: "to-up", Filter: map[string]string{"type": "dev.taskflow.y"}, Subscriber: "up", Delivery: del},
	}
	gaveUp := telemetry.GivenUp.WithLabelValues("to-down", "dead_letter_failed")
	noSink := telemetry.GivenUp.WithLabelValues("to-down-no-dls", "no_dead_letter")
	before, beforeNoSink := testutil.ToFloat64(gaveUp), testutil.ToFloat64(noSink)
	stop := runBroker(t, kafkaAddr, "test-give-up", triggers, urls)
	produce(t, kafkaAddr, event("9", "dev.taskflow.x"))
	eventually(t, "the dead-letter sink's attempts", func() bool { return dls.count() == 3 })
	produce(t, kafkaAddr, event("10", "dev.taskflow.y"), event("11", "dev.taskflow.z"))
	eventually(t, "the next event delivered", func() bool { return up.count() == 1 })
	eventually(t, "both given up", func() bool {
		return testutil.ToFloat64(gaveUp) == before+1 && testutil.ToFloat64(noSink) == beforeNoSink+1
	})
	if down.count() != 3+2 || dls.count() != 3 {
		t.Errorf("deliveries: subscriber %d (want 3 + 2), dead-letter sink %d (want 3)", down.count(), dls.count())
	}
	stop()
	// After a restart nothing given up comes back; new events flow.
	urls["down"] = up.srv.URL
	runBroker(t, kafkaAddr, "test-give-up", triggers, urls)
	produce(t, kafkaAddr, event("12", "dev.taskflow.y"))
	eventually(t, "a new event after the restart", func() bool { return up.count() == 2 })
	time.Sleep(300 * time.Millisecond)
	if up.count() != 2 || up.got[1].ID() != "12" {
		t.Errorf("after the restart: %d deliveries, last %s", up.count(), up.got[len(up.got)-1].ID())
	}
}

// TestStoppedDeliveryIsNotAcknowledged: a record whose delivery is still
// being retried when the Broker stops is not committed; the next Broker
// delivers it (at least once).
func TestStoppedDeliveryIsNotAcknowledged(t *testing.T) {
	kafkaAddr := kafkatest.Start(t)
	down := newSubscriber(t, func(int) int { return 503 })
	up := newSubscriber(t, func(int) int { return 200 })
	triggers := []Trigger{{Name: "t", Filter: map[string]string{"type": "dev.taskflow.x"}, Subscriber: "sub",
		Delivery: delivery(1000, "PT0.005S", true, "dls")}}
	stop := runBroker(t, kafkaAddr, "test-ack", triggers, map[string]string{"sub": down.srv.URL, "dls": down.srv.URL})
	produce(t, kafkaAddr, event("9", "dev.taskflow.x"))
	eventually(t, "failing deliveries", func() bool { return down.count() >= 4 })
	stop()
	runBroker(t, kafkaAddr, "test-ack", triggers, map[string]string{"sub": up.srv.URL, "dls": up.srv.URL})
	eventually(t, "delivery after restart", func() bool { return up.count() >= 1 })
	if up.got[0].ID() != "9" {
		t.Errorf("delivered %v", up.got[0])
	}
}

// TestTriggerFiltersOnExtensions: a Trigger delivers only the events that
// have every attribute of its filter with exactly that value, extension
// attributes included, as Knative's attribute filter does; an event lacking
// the extension, or with another value, is not delivered to it, and other
// Triggers of the same type still get it. The real reminder Triggers filter
// on the reminder extension.
func TestTriggerFiltersOnExtensions(t *testing.T) {
	kafkaAddr := kafkatest.Start(t)
	rem := newSubscriber(t, func(int) int { return 200 })
	all := newSubscriber(t, func(int) int { return 200 })
	del := delivery(1, "PT0.001S", false, "")
	triggers := []Trigger{
		{Name: "reminder", Filter: map[string]string{"type": events.TaskUpdated, events.ExtReminder: "true"}, Subscriber: "rem", Delivery: del},
		{Name: "audit", Filter: map[string]string{"type": events.TaskUpdated}, Subscriber: "all", Delivery: del},
	}
	runBroker(t, kafkaAddr, "test-ext", triggers, map[string]string{"rem": rem.srv.URL, "all": all.srv.URL})
	with := func(id, typ, v string) cloudevents.Event {
		e := event(id, typ)
		e.SetExtension(events.ExtReminder, v)
		return e
	}
	produce(t, kafkaAddr, with("1", events.TaskUpdated, "true"), event("2", events.TaskUpdated),
		with("3", events.TaskUpdated, "false"), with("4", events.TaskCreated, "true"), with("5", events.TaskUpdated, "true"))
	eventually(t, "every task.updated to the type-only Trigger", func() bool { return all.count() == 4 })
	eventually(t, "the marked ones to the extension Trigger", func() bool { return rem.count() == 2 })
	time.Sleep(300 * time.Millisecond)
	rem.mu.Lock()
	var ids []string
	for _, e := range rem.got {
		ids = append(ids, e.ID())
	}
	rem.mu.Unlock()
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"1", "5"}) || all.count() != 4 {
		t.Errorf("extension Trigger got %v (want 1 and 5); type-only Trigger got %d (want 4)", ids, all.count())
	}

	m, err := Load("../../knative", "../../triggers")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tr := range m.Triggers {
		if tr.Subscriber == "reminder" && tr.Filter["type"] != events.ReminderSnoozed {
			n++
			if tr.Filter[events.ExtReminder] != "true" || !strings.HasPrefix(tr.Filter["type"], "dev.taskflow.task.") {
				t.Errorf("trigger %s filters on %v", tr.Name, tr.Filter)
			}
		}
	}
	if n != 5 { // created, updated, completed, skipped, deleted
		t.Errorf("%d reminder Triggers of task events, want 5", n)
	}
}
