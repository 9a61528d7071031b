package deadletters_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/broker"
	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/deadletters"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka/kafkatest"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const token = "operator-token-for-tests"

// operator serves the operator endpoints on st with the given token and
// Service URLs.
func operator(t *testing.T, st *store.Store, tok string, services map[string]string) string {
	h := &deadletters.Handler{Store: st, Log: quiet,
		Cfg: deadletters.Operator{OperatorToken: tok, Services: services}, ReplayableFor: time.Hour}
	handlers := map[string]http.Handler{}
	h.Register(handlers)
	m := fn.NewMux(quiet)
	for p, hh := range handlers {
		m.Handle(p, hh)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return srv.URL
}

func call(t *testing.T, method, url, tok string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if v != nil && res.StatusCode/100 == 2 {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, body)
		}
	}
	return res.StatusCode
}

// TestReplayAfterTheConsumerIsBackHasOneEffect: the create function is down
// past its Trigger's retries, so a create command ends in the real
// dead-letter sink through the local Broker (embedded Kafka, the real
// KafkaSource and Trigger manifests); once create is back, the operator
// lists the letter and replays it: one task. Replaying it again, one by one
// or as its kind, still leaves one task: the replay carries the original id.
func TestReplayAfterTheConsumerIsBackHasOneEffect(t *testing.T) {
	m, err := broker.Load("../../knative", "../../triggers")
	if err != nil {
		t.Fatal(err)
	}
	retry, backoff := int32(2), "PT0.005S" // the whole retry budget in milliseconds, not minutes
	for i := range m.Triggers {
		m.Triggers[i].Delivery.Retry, m.Triggers[i].Delivery.BackoffDelay = &retry, &backoff
	}
	st, url := storetest.New(t)
	st.Source = events.Source("create")
	d := &fn.Deps{Store: st, Log: quiet, Now: time.Now}
	var down atomic.Bool
	down.Store(true)
	var refused atomic.Int64
	createFn := fn.Events(quiet, consumers.CreateCommand(d))
	serve := func(h http.Handler) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	create := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			refused.Add(1)
			http.Error(w, "create is down", http.StatusServiceUnavailable)
			return
		}
		createFn.ServeHTTP(w, r)
	}))
	other := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	services := map[string]string{}
	for _, tr := range m.Triggers {
		services[tr.Subscriber] = other
	}
	services["create"], services["deadletter"] = create, serve(fn.Events(quiet, consumers.DeadLetter(d)))
	ingress := kafkatest.FreeAddr(t)
	b := &broker.Broker{Manifests: m, Brokers: []string{kafkatest.Start(t)}, Log: quiet, IngressAddr: ingress,
		Resolve: func(svc string) (string, bool) { u, ok := services[svc]; return u, ok }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	body := `{"specversion":"1.0","id":"cmd-1","source":"/crm","type":"dev.taskflow.task.create","subject":"crm-42",` +
		`"data":{"user_id":"alice","task":{"title":"replayed once"}}}`
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res, err := http.Post("http://"+ingress, "application/cloudevents+json", strings.NewReader(body))
		if err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusAccepted {
				t.Fatalf("ingress: %d", res.StatusCode)
			}
			break
		}
		if time.Now().After(end) {
			t.Fatal(err)
		}
	}
	letters := func() int64 {
		return storetest.Count(t, url, `SELECT count(*) FROM dead_letters WHERE event_id = 'cmd-1' AND subscriber = '`+create+`'`)
	}
	for end := time.Now().Add(20 * time.Second); letters() != 1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the command never reached the dead-letter sink")
		}
	}
	if n := refused.Load(); n != 3 {
		t.Errorf("create refused %d deliveries, want 3 (the first and 2 retries)", n)
	}
	tasks := func() int64 {
		return storetest.Count(t, url, `SELECT count(*) FROM tasks WHERE title = 'replayed once'`)
	}
	if n := tasks(); n != 0 {
		t.Fatalf("%d tasks while create was down", n)
	}
	down.Store(false)

	op := operator(t, st, token, map[string]string{"create": create})
	var list struct{ Items []deadletters.Letter }
	if s := call(t, "GET", op+"/deadletters?type=dev.taskflow.task.create", token, &list); s != 200 || len(list.Items) != 1 {
		t.Fatalf("list: %d, %+v", s, list)
	}
	l := list.Items[0]
	if l.EventID != "cmd-1" || l.Source != "/crm" || l.Subject != "crm-42" || l.Subscriber != create ||
		l.Attempts != 1 || !strings.HasPrefix(l.Reason, "HTTP 503") || l.Replays != 0 {
		t.Errorf("letter %+v", l)
	}
	for i := 1; i <= 2; i++ {
		var res deadletters.Result
		if s := call(t, "POST", fmt.Sprintf("%s/deadletters/%d/replay", op, l.ID), token, &res); s != 200 || len(res.Replayed) != 1 {
			t.Fatalf("replay %d: %d, %+v", i, s, res)
		}
		if n := tasks(); n != 1 {
			t.Fatalf("after replay %d: %d tasks, want 1", i, n)
		}
	}
	var res deadletters.Result
	if s := call(t, "POST", op+"/deadletters/replay?type=dev.taskflow.task.create", token, &res); s != 200 || len(res.Replayed) != 0 {
		t.Errorf("replaying the kind after the letter was replayed: %d, %+v; want nothing pending", s, res)
	}
	if s := call(t, "GET", op+"/deadletters?pending=true", token, &list); s != 200 || len(list.Items) != 0 {
		t.Errorf("pending after the replays: %d, %+v", s, list)
	}
	if s := call(t, "GET", fmt.Sprintf("%s/deadletters/%d", op, l.ID), token, &l); s != 200 || l.Replays != 2 || l.ReplayedAt == nil {
		t.Errorf("the letter after two replays: %d, %+v", s, l)
	}
	if n := tasks(); n != 1 {
		t.Fatalf("%d tasks, want 1", n)
	}
}

// TestReplayOfAKind: the pending letters of one type (and subscriber) are
// replayed, others are left; a subscriber that refuses stops the replay with
// a 502 naming the letter, and the letter stays pending.
func TestReplayOfAKind(t *testing.T) {
	st, url := storetest.New(t)
	ctx := context.Background()
	var got atomic.Int64
	var refuse atomic.Bool
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if r.Header.Get("Ce-Knativeerrordest") != "" || r.Header.Get("Ce-Knativeerrorcode") != "" {
			t.Errorf("a replay carries the dispatcher's error extensions: %v", r.Header)
		}
		got.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer sub.Close()
	for i, typ := range []string{"a", "a", "b"} {
		attrs := fmt.Sprintf(`{"specversion":"1.0","id":"e%d","source":"/s","type":%q,"knativeerrordest":%q,"knativeerrorcode":"500"}`, i, typ, sub.URL)
		if err := st.RecordDeadLetter(ctx, store.DeadLetter{ID: fmt.Sprintf("e%d", i), Source: "/s", Type: typ,
			Subscriber: sub.URL, Attributes: []byte(attrs), ContentType: "text/plain", Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	op := operator(t, st, token, nil)
	refuse.Store(true)
	var res deadletters.Result
	if s := call(t, "POST", op+"/deadletters/replay?type=a", token, nil); s != http.StatusBadGateway {
		t.Fatalf("a refused replay: %d, want 502", s)
	}
	refuse.Store(false)
	if s := call(t, "POST", op+"/deadletters/replay?type=a&limit=1", token, &res); s != 200 || len(res.Replayed) != 1 || !res.More {
		t.Fatalf("a page of one: %d, %+v", s, res)
	}
	res = deadletters.Result{}
	if s := call(t, "POST", op+"/deadletters/replay?type=a", token, &res); s != 200 || len(res.Replayed) != 1 || res.More {
		t.Fatalf("the rest: %d, %+v", s, res)
	}
	if got.Load() != 2 {
		t.Errorf("the subscriber got %d replays, want the 2 letters of type a", got.Load())
	}
	if n := storetest.Count(t, url, `SELECT count(*) FROM dead_letters WHERE replays = 0`); n != 1 {
		t.Errorf("%d letters never replayed, want the one of type b", n)
	}
}

// TestOperatorEndpointsAreGuarded: no token configured → 503, never open;
// a missing or wrong bearer → 401; bad input → 400 or 404, nothing replayed.
func TestOperatorEndpointsAreGuarded(t *testing.T) {
	st, url := storetest.New(t)
	off := operator(t, st, "", nil)
	for _, tok := range []string{"", "anything"} {
		if s := call(t, "GET", off+"/deadletters", tok, nil); s != http.StatusServiceUnavailable {
			t.Errorf("no operator token set, bearer %q: %d, want 503", tok, s)
		}
	}
	op := operator(t, st, token, nil)
	for _, tok := range []string{"", token + "x", token[:len(token)-1]} {
		if s := call(t, "POST", op+"/deadletters/replay?type=a", tok, nil); s != http.StatusUnauthorized {
			t.Errorf("bearer %q: %d, want 401", tok, s)
		}
	}
	for path, want := range map[string]int{
		"GET /deadletters?limit=0":                400,
		"GET /deadletters?limit=x":                400,
		"GET /deadletters?after=-1":               400,
		"GET /deadletters?colour=red":             400,
		"GET /deadletters/abc":                    400,
		"GET /deadletters/99":                     404,
		"POST /deadletters/0/replay":              400,
		"POST /deadletters/99/replay":             404,
		"POST /deadletters/replay":                400, // no type
		"POST /deadletters/replay?type=a&after=3": 400,
		"DELETE /deadletters/1":                   405,
	} {
		method, p, _ := strings.Cut(path, " ")
		if s := call(t, method, op+p, token, nil); s != want {
			t.Errorf("%s: %d, want %d", path, s, want)
		}
	}
	if n := storetest.Count(t, url, `SELECT count(*) FROM dead_letters`); n != 0 {
		t.Errorf("%d dead letters", n)
	}
}
