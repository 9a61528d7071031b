package broker

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/taskflow/taskflow/pkg/kafka/kafkatest"
)

// TestRetryScheduleIsKnatives: the first retry of a linear backoff comes
// at once (backoffDelay × 0, as kncloudevents counts), even with a
// backoffDelay of an hour; a stand-in waiting backoffDelay × 1 first would
// not retry within the test.
func TestRetryScheduleIsKnatives(t *testing.T) {
	kafkaAddr := kafkatest.Start(t)
	sub := newSubscriber(t, func(n int) int {
		if n == 1 {
			return 503
		}
		return 200
	})
	runBroker(t, kafkaAddr, "test-schedule", []Trigger{{Name: "t", Filter: map[string]string{"type": "dev.taskflow.x"},
		Subscriber: "sub", Delivery: delivery(2, "PT1H", true, "")}}, map[string]string{"sub": sub.srv.URL})
	produce(t, kafkaAddr, event("1", "dev.taskflow.x"))
	eventually(t, "the first retry, without waiting the backoffDelay", func() bool { return sub.count() == 2 })
}

// TestDeliveryTimeout: a subscriber that does not answer within the
// Trigger's delivery.timeout is retried (Knative's per-request timeout),
// and the retry's answer counts.
func TestDeliveryTimeout(t *testing.T) {
	kafkaAddr := kafkatest.Start(t)
	var mu sync.Mutex
	n := 0
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			select { // hangs until the dispatcher gives up on the request
			case <-r.Context().Done():
			case <-stop:
			}
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	d := delivery(1, "PT0S", true, "")
	timeout := "PT0.2S"
	d.Timeout = &timeout
	runBroker(t, kafkaAddr, "test-timeout", []Trigger{{Name: "t", Filter: map[string]string{"type": "dev.taskflow.x"},
		Subscriber: "sub", Delivery: d}}, map[string]string{"sub": srv.URL})
	produce(t, kafkaAddr, event("1", "dev.taskflow.x"))
	eventually(t, "the retry after the timed-out request", func() bool { mu.Lock(); defer mu.Unlock(); return n == 2 })
}

// orderProbe is a subscriber that records the order of what it receives and
// the most requests it had in flight at once. With hold, it keeps the
// event with id "0" until it has received "1" (at most 10 s): only a
// subscriber sent events in parallel gets "1" meanwhile.
type orderProbe struct {
	mu          sync.Mutex
	ids         []string
	inFlight    int
	maxInFlight int
	overlapped  bool
	got1        chan struct{}
	srv         *httptest.Server
}

func newOrderProbe(t *testing.T, hold bool) *orderProbe {
	p := &orderProbe{got1: make(chan struct{})}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := cehttpToEvent(r)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.ids = append(p.ids, e.ID())
		p.inFlight++
		p.maxInFlight = max(p.maxInFlight, p.inFlight)
		if e.ID() == "1" {
			close(p.got1)
		}
		p.mu.Unlock()
		if hold && e.ID() == "0" {
			select {
			case <-p.got1:
				p.mu.Lock()
				p.overlapped = true
				p.mu.Unlock()
			case <-time.After(10 * time.Second):
			}
		}
		p.mu.Lock()
		p.inFlight--
		p.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *orderProbe) count() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.ids) }

// TestOrderedAndUnorderedTriggers: as in Knative's Kafka Broker, a Trigger
// annotated delivery.order: ordered gets a partition's events one at a
// time in offset order, while an unordered Trigger of the same events gets
// them in parallel (its subscriber holds the first until the second
// arrives). Behind an unordered KafkaSource the order is lost before the
// Broker, so an ordered Trigger gets the events in parallel too.
func TestOrderedAndUnorderedTriggers(t *testing.T) {
	for _, srcOrdered := range []bool{true, false} {
		t.Run(fmt.Sprintf("source ordered %v", srcOrdered), func(t *testing.T) {
			kafkaAddr := kafkatest.Start(t)
			ord, par := newOrderProbe(t, !srcOrdered), newOrderProbe(t, true)
			urls := map[string]string{"ord": ord.srv.URL, "par": par.srv.URL}
			del := delivery(1, "PT0S", true, "")
			b := &Broker{Manifests: Manifests{
				Sources: []Source{{Name: "rem", Topics: []string{"reminders"}, ConsumerGroup: "test-order", Ordered: srcOrdered}},
				Triggers: []Trigger{
					{Name: "ordered", Subscriber: "ord", Delivery: del, Ordered: true},
					{Name: "unordered", Subscriber: "par", Delivery: del},
				},
			}, Brokers: []string{kafkaAddr}, Resolve: func(s string) (string, bool) { u, ok := urls[s]; return u, ok }, Log: quiet}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- b.Run(ctx) }()
			defer func() { cancel(); <-done }()
			var evs []cloudevents.Event
			for i := range 20 {
				e := event(fmt.Sprint(i), "dev.taskflow.x")
				e.SetSubject("one-task") // one key: one partition
				evs = append(evs, e)
			}
			kafkatest.Produce(t, kafkatest.Producer(t, kafkaAddr), "reminders", evs...)
			eventually(t, "20 deliveries to each", func() bool { return ord.count() == 20 && par.count() == 20 })
			if !par.overlapped {
				t.Errorf("unordered Trigger: event 1 did not arrive while 0 was in flight (got %v)", par.ids)
			}
			if srcOrdered {
				for i, id := range ord.ids {
					if id != fmt.Sprint(i) {
						t.Fatalf("ordered Trigger got %v", ord.ids)
					}
				}
				if ord.maxInFlight != 1 {
					t.Errorf("ordered Trigger had %d deliveries in flight at once", ord.maxInFlight)
				}
			} else if !ord.overlapped {
				t.Errorf("ordered Trigger behind an unordered source: delivered one at a time (%v)", ord.ids)
			}
		})
	}
}
