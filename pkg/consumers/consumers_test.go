package consumers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/ops"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
	"github.com/taskflow/taskflow/pkg/task"
	"github.com/taskflow/taskflow/pkg/telemetry"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type env struct {
	t   *testing.T
	st  *store.Store
	url string
	srv *httptest.Server
}

func newEnv(t *testing.T, c fn.Consumers) *env {
	st, url := storetest.New(t)
	st.Source = events.Source("test")
	d := &fn.Deps{Store: st, Log: quiet, Now: time.Now}
	srv := httptest.NewServer(fn.Events(quiet, c(d)))
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, url: url, srv: srv}
}

// deliver posts e in binary (or structured) mode and returns the status.
func (e *env) deliver(ev cloudevents.Event, structured bool) int {
	e.t.Helper()
	ctx := context.Background()
	if structured {
		ctx = binding.WithForceStructured(ctx)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL, nil)
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&ev), req); err != nil {
		e.t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (e *env) rows(sql string) int64 {
	e.t.Helper()
	return storetest.Count(e.t, e.url, sql)
}

// outboxEvents returns the CloudEvents the store's writes produced.
func (e *env) outboxEvents() []cloudevents.Event {
	e.t.Helper()
	pending, err := e.st.Unsent(context.Background(), 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []cloudevents.Event
	for _, p := range pending {
		ce, err := kafka.CloudEvent(p.Event)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, ce)
	}
	return out
}

func write(t *testing.T, st *store.Store) task.Task {
	ctx := context.Background()
	in, _, _ := task.ParseInput([]byte(`{"title":"audit me","priority":"low"}`))
	tk, _ := task.New("alice", in, time.Now().UTC())
	created, _, err := st.Create(ctx, ops.Insert(tk), nil)
	if err != nil {
		t.Fatal(err)
	}
	high := task.High
	_, _, err = st.Update(ctx, "alice", created.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
		return ops.Patch(cur, task.Input{Priority: task.Opt[task.Priority]{Set: true, Value: &high}}, time.Now().UTC())
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = st.Update(ctx, "alice", created.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
		next, ch := ops.Complete(cur, time.Now().UTC())
		return next, ch, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// TestAuditOncePerEvent: each event delivered three times, in both modes,
// gives one audit row; the history lists them oldest first with changes.
func TestAuditOncePerEvent(t *testing.T) {
	e := newEnv(t, consumers.Audit)
	created := write(t, e.st)
	evs := e.outboxEvents()
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	for _, ev := range evs {
		for i := range 3 {
			if status := e.deliver(ev, i == 1); status != http.StatusAccepted {
				t.Fatalf("delivery %d of %s: %d", i, ev.Type(), status)
			}
		}
	}
	if n := e.rows("SELECT count(*) FROM audit_events"); n != 3 {
		t.Fatalf("%d audit rows for 3 events delivered 3 times", n)
	}
	h, err := e.st.History(context.Background(), "alice", created.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 || h[0].Type != events.TaskCreated || h[1].Type != events.TaskUpdated || h[2].Type != events.TaskCompleted {
		t.Fatalf("history %+v", h)
	}
	if c := h[1].Changes["priority"]; string(c.From) != `"low"` || string(c.To) != `"high"` || len(h[1].Changes) != 1 {
		t.Errorf("update changes %v", h[1].Changes)
	}
	if c := h[2].Changes["status"]; string(c.To) != `"completed"` {
		t.Errorf("complete changes %v", h[2].Changes)
	}
	if h[0].Changes["title"].To == nil || h[0].Changes["description"].To != nil {
		t.Errorf("create changes %v", h[0].Changes)
	}
	// Each entry keeps its event's source; "/taskflow/test" is no function
	// that writes tasks, so who that was is not known.
	for i, en := range h {
		if en.Source == nil || *en.Source != evs[i].Source() || *en.Source != events.Source("test") || en.Actor != nil {
			t.Errorf("entry %d: source %v actor %v, want %q and none", i, en.Source, en.Actor, evs[i].Source())
		}
	}
	if n := e.rows("SELECT count(*) FROM audit_events WHERE source = '/taskflow/test'"); n != 3 {
		t.Errorf("%d audit rows store the source", n)
	}
	// The same event from MCP is an agent's change.
	byAgent := evs[1].Clone()
	byAgent.SetID("by-agent")
	byAgent.SetSource(events.Source("mcp"))
	if status := e.deliver(byAgent, false); status != http.StatusAccepted {
		t.Fatalf("delivery from mcp: %d", status)
	}
	h, err = e.st.History(context.Background(), "alice", created.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, en := range h {
		if en.EventID == "by-agent" {
			found = true
			if en.Source == nil || *en.Source != "/taskflow/mcp" || en.Actor == nil || *en.Actor != events.ActorAgent {
				t.Errorf("from mcp: source %v actor %v", en.Source, en.Actor)
			}
		}
	}
	if !found {
		t.Error("the event from mcp was not recorded")
	}
	if _, err := e.st.History(context.Background(), "bob", created.ID, 100); err == nil {
		t.Error("bob read alice's history")
	}
}

// TestAuditConcurrentDeliveries: deliveries arriving together, as the
// Broker sends an unordered Trigger's events, are stored together (the
// audit function's group commit), each once, every delivery answered only
// for its own event: the one event the database refuses is a 400, and the
// others are stored and acknowledged all the same.
func TestAuditConcurrentDeliveries(t *testing.T) {
	e := newEnv(t, consumers.Audit)
	write(t, e.st)
	base := e.outboxEvents()[0]
	const n = 64
	var evs []cloudevents.Event
	for i := range n {
		ev := base.Clone()
		ev.SetID(fmt.Sprintf("concurrent-%d", i))
		evs = append(evs, ev)
	}
	bad := base.Clone()
	bad.SetID("nul-user")
	var data map[string]any
	if err := json.Unmarshal(base.Data(), &data); err != nil {
		t.Fatal(err)
	}
	data["user_id"] = "al\x00ice"
	raw, _ := json.Marshal(data)
	_ = bad.SetData("application/json", raw)
	statuses := make([]int, 3*n+1)
	var wg sync.WaitGroup
	for i := range 3 * n {
		wg.Go(func() { statuses[i] = e.deliver(evs[i%n], i%2 == 0) })
	}
	wg.Go(func() { statuses[3*n] = e.deliver(bad, false) })
	wg.Wait()
	for i, st := range statuses[:3*n] {
		if st != http.StatusAccepted {
			t.Errorf("delivery %d of %s: %d", i, evs[i%n].ID(), st)
		}
	}
	if st := statuses[3*n]; st != http.StatusBadRequest {
		t.Errorf("the event with a NUL in its user id: %d, want 400", st)
	}
	if got := e.rows("SELECT count(*) FROM audit_events WHERE event_id LIKE 'concurrent-%'"); got != n {
		t.Errorf("%d audit rows for %d events delivered three times each", got, n)
	}
	if got := e.rows("SELECT count(*) FROM audit_events WHERE event_id = 'nul-user'"); got != 0 {
		t.Errorf("the refused event stored %d rows", got)
	}
}

// TestBadEventsAre4xx: what can never succeed is refused without a retry and
// stores nothing.
func TestBadEventsAre4xx(t *testing.T) {
	e := newEnv(t, consumers.Audit)
	post := func(body string, headers map[string]string) int {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL, bytes.NewBufferString(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	binary := func(typ string) map[string]string {
		return map[string]string{"Ce-Id": "x1", "Ce-Source": "/test", "Ce-Specversion": "1.0", "Ce-Type": typ, "Content-Type": "application/json"}
	}
	cases := map[string]int{
		"not a cloudevent":  post(`{"hello":1}`, map[string]string{"Content-Type": "application/json"}),
		"structured broken": post(`{"specversion":"1.0",`, map[string]string{"Content-Type": "application/cloudevents+json"}),
		"missing id":        post(`{}`, map[string]string{"Ce-Source": "/t", "Ce-Specversion": "1.0", "Ce-Type": events.TaskCreated}),
		"unknown type":      post(`{}`, binary("dev.taskflow.other")),
		"bad payload":       post(`[1,2]`, binary(events.TaskCreated)),
		"no user":           post(`{"task":{"id":"0193f0c2-0000-7000-8000-000000000000"}}`, binary(events.TaskCreated)),
		// uuid.Validate takes these forms, PostgreSQL's uuid does not: the
		// store's 22P02 came back as a 404, which the Trigger retries.
		"urn task id":    post(`{"user_id":"a","task":{"id":"urn:uuid:0193f0c2-0000-7000-8000-000000000000"}}`, binary(events.TaskCreated)),
		"braced task id": post(`{"user_id":"a","task":{"id":"{0193f0c2-0000-7000-8000-000000000000}"}}`, binary(events.TaskCreated)),
	}
	for name, status := range cases {
		if status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, status)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL, nil)
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", res.StatusCode)
	}
	if n := e.rows("SELECT count(*) FROM audit_events"); n != 0 {
		t.Errorf("bad events stored %d rows", n)
	}
}

// TestTransientFailureIs5xx: with the database gone, the consumer answers
// 5xx so that the Trigger retries.
func TestTransientFailureIs5xx(t *testing.T) {
	e := newEnv(t, consumers.Audit)
	write(t, e.st)
	ev := e.outboxEvents()[0]
	e.st.Close()
	if status := e.deliver(ev, false); status < 500 {
		t.Errorf("database down answered %d", status)
	}
}

func command(id, data string) cloudevents.Event {
	ev := cloudevents.New()
	ev.SetID(id)
	ev.SetSource("/crm")
	ev.SetType(events.TaskCreate)
	_ = ev.SetData("application/json", []byte(data))
	return ev
}

// TestCommandEventCreatesOnce: the same source and id create one task; other
// data under the same id, bad data and a missing user are refused with 400.
func TestCommandEventCreatesOnce(t *testing.T) {
	e := newEnv(t, consumers.CreateCommand)
	ok := command("c-1", `{"user_id":"alice","task":{"title":"From the CRM","priority":"high"}}`)
	for i := range 3 {
		if status := e.deliver(ok, i == 2); status != http.StatusAccepted {
			t.Fatalf("delivery %d: %d", i, status)
		}
	}
	if n := e.rows("SELECT count(*) FROM tasks WHERE user_id = 'alice' AND title = 'From the CRM' AND priority = 2"); n != 1 {
		t.Fatalf("%d tasks from one command delivered 3 times", n)
	}
	bad := map[string]cloudevents.Event{
		"same id, other data": command("c-1", `{"user_id":"alice","task":{"title":"Other"}}`),
		"no user":             command("c-2", `{"task":{"title":"x"}}`),
		"invalid task":        command("c-3", `{"user_id":"bob","task":{"title":"","priority":"x"}}`),
		"unknown field":       command("c-4", `{"user_id":"bob","task":{"title":"x"},"admin":true}`),
		"not an object":       command("c-5", `[]`),
		"same id, other user": command("c-1", `{"user_id":"mallory","task":{"title":"From the CRM","priority":"high"}}`),
		"not json":            command("c-6", `this is not json`),
		"NUL in the user id":  command("c-7", `{"user_id":"al\u0000ice","task":{"title":"x"}}`),
		"control in user id":  command("c-8", `{"user_id":"al\u0007ice","task":{"title":"x"}}`),
		"invalid UTF-8 user":  command("c-9", "{\"user_id\":\"al\xffice\",\"task\":{\"title\":\"x\"}}"),
		"NUL in the title":    command("c-10", `{"user_id":"bob","task":{"title":"a\u0000b"}}`),
		"NUL in a tag":        command("c-11", `{"user_id":"bob","task":{"title":"ok","tags":["a\u0000"]}}`),
		// encoding/json keeps the last of two keys: which user would own the task?
		"user id given twice": command("c-12", `{"user_id":"bob","task":{"title":"x"},"user_id":"mallory"}`),
		"task given twice":    command("c-13", `{"user_id":"bob","task":{"title":"x"},"task":{"title":"y"}}`),
		"trailing data":       command("c-14", `{"user_id":"bob","task":{"title":"x"}} {"user_id":"mallory"}`),
	}
	for name, ev := range bad {
		if status := e.deliver(ev, false); status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, status)
		}
	}
	if n := e.rows("SELECT count(*) FROM tasks"); n != 1 {
		t.Errorf("refused commands stored tasks: %d", n)
	}
	if n := e.rows("SELECT count(*) FROM outbox WHERE type = 'dev.taskflow.task.created'"); n != 1 {
		t.Errorf("%d task.created events", n)
	}
}

func TestDeadLetterKeepsAnyEventOnce(t *testing.T) {
	e := newEnv(t, consumers.DeadLetter)
	ev := command("d-1", `{"whatever":1}`)
	ev.SetType("dev.taskflow.something.else")
	for range 2 {
		if status := e.deliver(ev, false); status != http.StatusAccepted {
			t.Fatalf("status %d", status)
		}
	}
	if n := e.rows("SELECT count(*) FROM dead_letters WHERE event_id = 'd-1' AND source = '/crm'"); n != 1 {
		t.Errorf("%d dead letters", n)
	}
}

// TestDeadLetterKeepsAnyData: the sink takes every well-formed CloudEvent
// whatever its data (text that is not JSON under a JSON content type, JSON
// with a NUL in a string, binary bytes, none) and keeps the data byte for
// byte with its content type and the other attributes; never a 5xx.
func TestDeadLetterKeepsAnyData(t *testing.T) {
	e := newEnv(t, consumers.DeadLetter)
	cases := []struct {
		id, ct string
		data   []byte
	}{
		{"not-json", "application/json", []byte("this is not json")},
		{"nul-in-string", "application/json", []byte(`{"user_id":"a\u0000b","task":{"title":"x\u0000"}}`)},
		{"binary", "application/octet-stream", []byte{0, 0xff, 0xfe, 'x', 0, 0x80}},
		{"text", "text/plain", []byte("plain words\n")},
		{"no data", "", nil},
	}
	for i, c := range cases {
		ev := cloudevents.New()
		ev.SetID(c.id)
		ev.SetSource("/crm")
		ev.SetType(events.TaskCreate)
		ev.SetExtension("knativeerrorcode", "400")
		if c.data != nil {
			ev.DataEncoded = c.data
			ev.SetDataContentType(c.ct)
		}
		if status := e.deliver(ev, i%2 == 1); status != http.StatusAccepted {
			t.Errorf("%s: status %d", c.id, status)
			continue
		}
		c2, err := pgx.Connect(context.Background(), e.url)
		if err != nil {
			t.Fatal(err)
		}
		var (
			data  []byte
			ct    *string
			attrs map[string]any
		)
		err = c2.QueryRow(context.Background(), `SELECT data, datacontenttype, attributes FROM dead_letters
			WHERE event_id = $1 AND source = '/crm'`, c.id).Scan(&data, &ct, &attrs)
		c2.Close(context.Background())
		if err != nil {
			t.Errorf("%s: %v", c.id, err)
			continue
		}
		if !bytes.Equal(data, c.data) || (c.data == nil) != (data == nil) {
			t.Errorf("%s: data %q, want %q", c.id, data, c.data)
		}
		if got := ""; ct != nil {
			got = *ct
			if got != c.ct {
				t.Errorf("%s: content type %q, want %q", c.id, got, c.ct)
			}
		} else if c.ct != "" {
			t.Errorf("%s: no content type, want %q", c.id, c.ct)
		}
		if attrs["id"] != c.id || attrs["type"] != events.TaskCreate || attrs["knativeerrorcode"] != "400" {
			t.Errorf("%s: attributes %v", c.id, attrs)
		}
		if _, ok := attrs["data"]; ok {
			t.Errorf("%s: the attributes repeat the data: %v", c.id, attrs)
		}
	}
}

// completedEvent completes a recurring task through the store and returns
// the task.completed event the outbox holds for it.
// createFor stores the task of a create body for user, created on 2027-02-01.
func (e *env) createFor(t *testing.T, user, body string) task.Task {
	t.Helper()
	in, _, err := task.ParseInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	tk, err := task.New(user, in, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	created, _, err := e.st.Create(context.Background(), ops.Insert(tk), nil)
	if err != nil {
		t.Fatal(err)
	}
	return created
}

func completedEvent(t *testing.T, e *env, id string) cloudevents.Event {
	t.Helper()
	_, _, err := e.st.Update(context.Background(), "alice", id, 0, func(cur task.Task) (ops.Write, bool, error) {
		next, ch := ops.Complete(cur, time.Now().UTC())
		return next, ch, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var last cloudevents.Event
	for _, ev := range e.outboxEvents() {
		if ev.Type() == events.TaskCompleted && ev.Subject() == id {
			last = ev
		}
	}
	if last.ID() == "" {
		t.Fatal("no task.completed event")
	}
	return last
}

// TestRecurrenceRefusesAnInvalidSuccessor: a task.completed whose task no
// write of TaskFlow's could have made (here a reminder an hour after its due
// date) is refused with 400 and makes no successor.
func TestRecurrenceRefusesAnInvalidSuccessor(t *testing.T) {
	e := newEnv(t, consumers.Recurrence)
	first := e.createFor(t, "alice", `{"title":"Daily","due_date":"2027-03-01T09:00:00Z",
		"recurrence_pattern":{"frequency":"daily","timezone":"UTC"}}`)
	ev := completedEvent(t, e, first.ID)
	var data map[string]any
	if err := json.Unmarshal(ev.Data(), &data); err != nil {
		t.Fatal(err)
	}
	data["task"].(map[string]any)["reminder_time"] = "2027-03-01T10:00:00Z"
	data["task"].(map[string]any)["reminders"] = []any{map[string]any{"at": "2027-03-01T10:00:00Z"}}
	forged := ev.Clone()
	forged.SetID(ev.ID() + "-forged")
	if err := forged.SetData("application/json", data); err != nil {
		t.Fatal(err)
	}
	if status := e.deliver(forged, false); status != http.StatusBadRequest {
		t.Errorf("forged task.completed: %d, want 400", status)
	}
	if n := e.rows("SELECT count(*) FROM tasks"); n != 1 {
		t.Errorf("%d tasks, want 1: a successor was made from an invalid task", n)
	}
}

// TestRecurrenceOneSuccessor: the same task.completed delivered 3 times,
// six deliveries racing, and a reopen-and-complete all give one successor,
// due at the series' next occurrence with the reminder offset kept.
func TestRecurrenceOneSuccessor(t *testing.T) {
	e := newEnv(t, consumers.Recurrence)
	first := e.createFor(t, "alice", `{"title":"Weekly review","tags":["work"],
		"due_date":"2027-03-01T09:00:00+01:00","reminder_time":"2027-03-01T08:30:00+01:00",
		"recurrence_pattern":{"frequency":"weekly","days_of_week":[1],"timezone":"Europe/Berlin","occurrences":3}}`)
	ev := completedEvent(t, e, first.ID)
	for i := range 3 {
		if status := e.deliver(ev, i == 1); status != http.StatusAccepted {
			t.Fatalf("delivery %d: %d", i, status)
		}
	}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			dup := ev.Clone()
			dup.SetID(fmt.Sprintf("%s-race-%d", ev.ID(), i))
			if status := e.deliver(dup, false); status != http.StatusAccepted {
				t.Errorf("racing delivery: %d", status)
			}
		})
	}
	wg.Wait()
	// Reopen and complete again: a new event, still no second successor.
	reopen := task.Active
	if _, _, err := e.st.Update(context.Background(), "alice", first.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
		return ops.Patch(cur, task.Input{Status: task.Opt[task.Status]{Set: true, Value: &reopen}}, time.Now().UTC())
	}); err != nil {
		t.Fatal(err)
	}
	if status := e.deliver(completedEvent(t, e, first.ID), false); status != http.StatusAccepted {
		t.Fatalf("second completion: %d", status)
	}
	if n := e.rows("SELECT count(*) FROM tasks WHERE predecessor_id IS NOT NULL"); n != 1 {
		t.Fatalf("%d successors", n)
	}
	var succID string
	c, _ := pgx.Connect(context.Background(), e.url)
	defer c.Close(context.Background())
	if err := c.QueryRow(context.Background(), "SELECT id::text FROM tasks WHERE predecessor_id IS NOT NULL").Scan(&succID); err != nil {
		t.Fatal(err)
	}
	succ, err := e.st.Get(context.Background(), "alice", succID)
	if err != nil {
		t.Fatal(err)
	}
	wantDue := time.Date(2027, 3, 8, 8, 0, 0, 0, time.UTC) // Monday 09:00 Berlin
	if !succ.DueDate.Equal(wantDue) || !succ.ReminderTime.Equal(wantDue.Add(-30*time.Minute)) || succ.Status != task.Active ||
		*succ.SeriesID != *first.SeriesID || succ.Title != "Weekly review" || succ.Tags[0] != "work" {
		t.Errorf("successor %+v", succ)
	}
	if n := e.rows("SELECT count(*) FROM outbox WHERE type = 'dev.taskflow.task.created' AND source = '/taskflow/test'"); n != 2 {
		t.Errorf("%d task.created events (the first task and one successor)", n)
	}
	// The series has 3 occurrences: the second's successor is the third, the third has none.
	second := completedEvent(t, e, succ.ID)
	e.deliver(second, false)
	third := e.rows("SELECT count(*) FROM tasks WHERE due_date = '2027-03-15T08:00:00Z'")
	if third != 1 {
		t.Fatalf("third occurrence: %d", third)
	}
	var thirdID string
	_ = c.QueryRow(context.Background(), "SELECT id::text FROM tasks WHERE due_date = '2027-03-15T08:00:00Z'").Scan(&thirdID)
	e.deliver(completedEvent(t, e, thirdID), false)
	if n := e.rows("SELECT count(*) FROM tasks"); n != 3 {
		t.Errorf("a series of 3 occurrences has %d tasks", n)
	}
}

// TestRecurrenceContinuesTheTrace: the trace of the request that completes
// an occurrence reaches its task.completed event (the traceparent
// extension), and the successor the recurrence function creates from it
// carries the same trace id, in binary and structured mode alike.
func TestRecurrenceContinuesTheTrace(t *testing.T) {
	if _, err := telemetry.Setup(context.Background(), "test", telemetry.Config{}); err != nil {
		t.Fatal(err)
	}
	for _, structured := range []bool{false, true} {
		e := newEnv(t, consumers.Recurrence)
		const (
			createTrace   = "4bf92f3577b34da6a3ce929d0e0e4736"
			completeTrace = "0af7651916cd43dd8448eb211c80319c"
		)
		ctx := telemetry.WithTraceParent(context.Background(), "00-"+createTrace+"-00f067aa0ba902b7-01", "")
		in, _, _ := task.ParseInput([]byte(`{"title":"Standup","due_date":"2027-03-01T09:00:00Z",
			"recurrence_pattern":{"frequency":"daily"}}`))
		tk, _ := task.New("alice", in, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC))
		first, _, err := e.st.Create(ctx, ops.Insert(tk), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx = telemetry.WithTraceParent(context.Background(), "00-"+completeTrace+"-b7ad6b7169203331-01", "")
		if _, _, err := e.st.Update(ctx, "alice", first.ID, 0, func(cur task.Task) (ops.Write, bool, error) {
			next, ch := ops.Complete(cur, time.Now().UTC())
			return next, ch, nil
		}); err != nil {
			t.Fatal(err)
		}
		traces := map[string]string{} // event type and subject -> trace id
		var completed cloudevents.Event
		for _, ev := range e.outboxEvents() {
			tp, _ := ev.Extensions()["traceparent"].(string)
			traces[ev.Type()+" "+ev.Subject()] = strings.Split(tp+"--", "-")[1]
			if ev.Type() == events.TaskCompleted {
				completed = ev
			}
		}
		if traces[events.TaskCreated+" "+first.ID] != createTrace || traces[events.TaskCompleted+" "+first.ID] != completeTrace {
			t.Fatalf("outbox traces %v", traces)
		}
		if status := e.deliver(completed, structured); status != http.StatusAccepted {
			t.Fatalf("delivery: %d", status)
		}
		var succ, parent string
		c, _ := pgx.Connect(context.Background(), e.url)
		err = c.QueryRow(context.Background(), `SELECT o.subject, o.traceparent FROM outbox o
			JOIN tasks t ON t.id::text = o.subject WHERE t.predecessor_id = $1`, first.ID).Scan(&succ, &parent)
		c.Close(context.Background())
		if err != nil {
			t.Fatalf("successor's event: %v", err)
		}
		if got := strings.Split(parent+"--", "-")[1]; got != completeTrace || parent == completed.Extensions()["traceparent"] {
			t.Errorf("structured=%v: successor %s has traceparent %q, want trace %s in a span of its own", structured, succ, parent, completeTrace)
		}
	}
}

// TestEventTimeOutOfRangeIs400: a CloudEvent time that parses but lies
// outside the dates TaskFlow holds (an offset that carries it into the year
// 10000) can never succeed: stored, it would make the task's history fail to
// encode for good.
func TestEventTimeOutOfRangeIs400(t *testing.T) {
	e := newEnv(t, consumers.Audit)
	created := write(t, e.st)
	ev := e.outboxEvents()[1]
	for _, tm := range []string{"9999-12-31T23:59:59-23:59", "1899-12-31T23:59:59Z"} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL, bytes.NewReader(ev.Data()))
		for k, v := range map[string]string{"Content-Type": "application/json", "Ce-Specversion": "1.0",
			"Ce-Id": "far-" + tm, "Ce-Source": "/test", "Ce-Type": ev.Type(), "Ce-Time": tm} {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("time %s: %d, want 400", tm, res.StatusCode)
		}
	}
	if n := e.rows("SELECT count(*) FROM audit_events"); n != 0 {
		t.Fatalf("%d audit rows from events with an out-of-range time", n)
	}
	if _, err := e.st.History(context.Background(), "alice", created.ID, 100); err == nil {
		t.Error("history found")
	}
}

// TestInvalidUTF8AttributesAre400: a CloudEvents String attribute is
// Unicode text. One with bytes that are not UTF-8 panicked the dead-letter
// sink (a metric label must be UTF-8) or failed in PostgreSQL: a 5xx or a
// dropped connection, retried until given up, and never dead-lettered. It
// is refused as the control characters are, before any handler runs.
func TestInvalidUTF8AttributesAre400(t *testing.T) {
	e := newEnv(t, consumers.DeadLetter)
	for _, h := range []string{"Ce-Id", "Ce-Type", "Ce-Subject", "Ce-Myext"} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL, bytes.NewBufferString(`{}`))
		for k, v := range map[string]string{"Content-Type": "application/json", "Ce-Specversion": "1.0",
			"Ce-Id": "utf8-" + h, "Ce-Source": "/test", "Ce-Type": "dev.taskflow.other"} {
			req.Header.Set(k, v)
		}
		req.Header.Set(h, "a\xffb")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("%s not UTF-8: %d, want 400", h, res.StatusCode)
		}
	}
	if n := e.rows("SELECT count(*) FROM dead_letters"); n != 0 {
		t.Errorf("%d dead letters", n)
	}
}
