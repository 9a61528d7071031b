package devstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/ports"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// testAddr is a free loopback address from the stack's own allocator, so
// that no function or Dapr port is handed out twice.
func testAddr(t *testing.T) string {
	addr, err := ports.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// daprBin is where scripts/dapr.sh put the real daprd and scheduler.
func daprBin(t *testing.T) string {
	d, err := DaprBin("../..")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// traceIDs reads topic from the start and returns the trace id of each
// record's ce_traceparent header by "type key".
func traceIDs(t *testing.T, kafkaAddr, topic string) map[string]string {
	t.Helper()
	records, err := kafka.ReadAll(context.Background(), []string{kafkaAddr}, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range records {
		parent := kafka.Header(r, "ce_traceparent")
		out[kafka.Header(r, "ce_type")+" "+string(r.Key)] = strings.Split(parent+"--", "-")[1]
	}
	return out
}

// TestStackEndToEnd builds every function, starts the stack as `make run`
// does, creates and reads a task through the one base URL, then stops it and
// checks that no process is left behind.
func TestStackEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole stack")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "../../functions/...")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	secret := "e2e-secret-e2e-secret-e2e-secret-e2e"
	cfg := Config{APIAddr: testAddr(t), DatabaseURL: storetest.NewURL(t), Secrets: Secrets{Config: auth.Config{Secret: secret}},
		PortBase: 0, BinDir: bin, Manifests: "../../knative", LogLevel: "warn",
		KafkaAddr: testAddr(t), KafkaData: t.TempDir(), Triggers: "../../triggers", BrokerAddr: testAddr(t),
		DaprBin: daprBin(t), DaprData: t.TempDir()}
	out := &syncBuf{}
	s := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	base := "http://" + cfg.APIAddr
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "TaskFlow is up") {
		select {
		case err := <-done:
			t.Fatalf("stack stopped: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("stack not up:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), "export TOKEN=") {
		t.Errorf("no dev token printed:\n%s", out.String())
	}
	tok, _ := auth.Sign([]byte(secret), "e2e", time.Now(), time.Minute)
	req, _ := http.NewRequest("POST", base+"/api/tasks", strings.NewReader(`{"title":"through the gateway","tags":["e2e"]}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created map[string]any
	_ = json.NewDecoder(res.Body).Decode(&created)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("create: %d %v", res.StatusCode, created)
	}
	req, _ = http.NewRequest("GET", fmt.Sprintf("%s/api/e2e/tasks/%s", base, created["id"]), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err = http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("get through the gateway: %v %v", res, err)
	}
	res.Body.Close()
	// The create's event reaches task-events through the outbox and the relay.
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.KafkaAddr), kgo.ConsumeTopics("task-events"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	var key string
	for end := time.Now().Add(20 * time.Second); key == "" && time.Now().Before(end); {
		pctx, pcancel := context.WithTimeout(context.Background(), time.Second)
		cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) { key = string(r.Key) })
		pcancel()
	}
	cl.Close()
	if key != created["id"] {
		t.Errorf("task-events has key %q, want the created task %v", key, created["id"])
	}
	// An independent Kafka client (librdkafka's kcat) reads the same event.
	if kcat, err := exec.LookPath("kcat"); err == nil {
		out, err := exec.Command(kcat, "-C", "-b", cfg.KafkaAddr, "-t", "task-events", "-o", "beginning", "-e", "-q",
			"-f", "%k %h\n").CombinedOutput()
		if err != nil || !strings.Contains(string(out), created["id"].(string)+" ") ||
			!strings.Contains(string(out), "ce_type=dev.taskflow.task.created") {
			t.Errorf("kcat: %v\n%s", err, out)
		}
	} else {
		t.Log("kcat not installed (apt-get install kcat): interoperability not checked")
	}
	// The event reaches audit through the local Broker: the history shows it.
	get := func(path string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	var history map[string]any
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if status, body := get(fmt.Sprintf("/api/tasks/%s/history", created["id"])); status == 200 {
			history = body
			break
		}
	}
	if items, _ := history["items"].([]any); len(items) != 1 || items[0].(map[string]any)["type"] != "dev.taskflow.task.created" {
		t.Errorf("history through the broker: %v", history)
	}
	// Another system creates a task by posting a command event to the ingress.
	cmd, _ := http.NewRequest("POST", "http://"+cfg.BrokerAddr, strings.NewReader(
		`{"specversion":"1.0","id":"cmd-1","source":"/crm","type":"dev.taskflow.task.create","data":{"user_id":"e2e","task":{"title":"from the crm"}}}`))
	cmd.Header.Set("Content-Type", "application/cloudevents+json")
	if res, err := http.DefaultClient.Do(cmd); err != nil || res.StatusCode != 202 {
		t.Fatalf("command event: %v %v", res, err)
	}
	found := false
	for end := time.Now().Add(20 * time.Second); !found && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		_, body := get("/api/tasks/search?q=crm")
		items, _ := body["items"].([]any)
		found = len(items) == 1
	}
	if !found {
		t.Error("the command event's task never appeared")
	}
	// A live stream through the gateway sees the next change; completing a
	// recurring task produces its successor, visible through the API.
	sreq, _ := http.NewRequest("GET", base+"/api/updates", nil)
	sreq.Header.Set("Authorization", "Bearer "+tok)
	stream, err := http.DefaultClient.Do(sreq)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("stream: %v %v", stream, err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// Both requests come with a W3C traceparent, as from a traced client.
	const createTrace, completeTrace = "4bf92f3577b34da6a3ce929d0e0e4736", "0af7651916cd43dd8448eb211c80319c"
	req, _ = http.NewRequest("POST", base+"/api/tasks", strings.NewReader(
		`{"title":"daily standup","due_date":"2027-01-04T09:00:00Z","recurrence_pattern":{"frequency":"daily"}}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+createTrace+"-00f067aa0ba902b7-01")
	res, err = http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("recurring create: %v %v", res, err)
	}
	var rec map[string]any
	_ = json.NewDecoder(res.Body).Decode(&rec)
	res.Body.Close()
	sawIt := false
	for deadline := time.After(20 * time.Second); !sawIt; {
		select {
		case l := <-lines:
			sawIt = strings.HasPrefix(l, "data:") && strings.Contains(l, "daily standup")
		case <-deadline:
			t.Fatal("the stream never showed the new task")
		}
	}
	stream.Body.Close()
	req, _ = http.NewRequest("PATCH", fmt.Sprintf("%s/api/tasks/%s/complete", base, rec["id"]), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("traceparent", "00-"+completeTrace+"-b7ad6b7169203331-01")
	if res, err = http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("complete: %v %v", res, err)
	}
	res.Body.Close()
	var successor map[string]any
	for end := time.Now().Add(20 * time.Second); successor == nil && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		_, body := get("/api/tasks/search?q=standup&status=active")
		if items, _ := body["items"].([]any); len(items) == 1 {
			successor = items[0].(map[string]any)
		}
	}
	if successor == nil || successor["due_date"] != "2027-01-05T09:00:00Z" || successor["series_id"] != rec["series_id"] {
		t.Fatalf("successor %v", successor)
	}
	// One trace from each request through the gateway, the function, the
	// outbox, Kafka, the Broker and the recurrence function: the create's
	// task.created carries the create's trace id, and the successor the
	// recurrence function made carries the completing request's.
	traces := traceIDs(t, cfg.KafkaAddr, "task-events")
	if got := traces["dev.taskflow.task.created "+rec["id"].(string)]; got != createTrace {
		t.Errorf("the recurring task's task.created has trace %q, want %s", got, createTrace)
	}
	if got := traces["dev.taskflow.task.completed "+rec["id"].(string)]; got != completeTrace {
		t.Errorf("its task.completed has trace %q, want %s", got, completeTrace)
	}
	if got := traces["dev.taskflow.task.created "+successor["id"].(string)]; got != completeTrace {
		t.Errorf("the successor's task.created has trace %q, want the completing request's %s", got, completeTrace)
	}
	// Each function serves its metrics: the gateway saw the routes, the
	// recurrence function consumed the completion, the relay published.
	for name, want := range map[string]string{
		"gateway":    `taskflow_http_request_duration_seconds_count{method="PATCH",route="/api/tasks/{id}/complete",status="200"}`,
		"recurrence": `taskflow_events_consumed_total{result="ok",type="dev.taskflow.task.completed"}`,
		"relay":      `taskflow_events_published_total{topic="task-events",type="dev.taskflow.task.created"}`,
		"broker":     `taskflow_kafka_consumer_lag{source="task-events",topic="task-events"}`,
	} {
		addr := s.Addr(name)
		switch name {
		case "gateway":
			addr = cfg.APIAddr
		case "broker":
			addr = cfg.BrokerAddr
		}
		found := false
		for end := time.Now().Add(10 * time.Second); !found && time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			res, err := http.Get("http://" + addr + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			found = strings.Contains(string(b), want)
		}
		if !found {
			t.Errorf("%s's /metrics has no %s", name, want)
		}
	}
	// A reminder.due event becomes a notification the user can list.
	rem, _ := http.NewRequest("POST", "http://"+cfg.BrokerAddr, strings.NewReader(fmt.Sprintf(
		`{"specversion":"1.0","id":"rem-1","source":"/taskflow/reminder","type":"dev.taskflow.reminder.due","data":{"task_id":%q,"user_id":"e2e","title":"through the gateway","due_date":null,"remind_at":"2027-01-01T08:00:00Z","fired_at":"2027-01-01T08:00:00Z"}}`,
		created["id"])))
	rem.Header.Set("Content-Type", "application/cloudevents+json")
	if res, err := http.DefaultClient.Do(rem); err != nil || res.StatusCode != 202 {
		t.Fatalf("reminder event: %v %v", res, err)
	}
	notified := false
	for end := time.Now().Add(20 * time.Second); !notified && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		_, body := get("/api/notifications")
		items, _ := body["items"].([]any)
		notified = len(items) == 1
	}
	if !notified {
		t.Error("the reminder never became a notification")
	}
	// A real reminder: Dapr calls the reminder function back at the time,
	// and the notification follows through Kafka, the Broker and notify.
	remindAt := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	req, _ = http.NewRequest("POST", base+"/api/tasks", strings.NewReader(fmt.Sprintf(
		`{"title":"dentist","reminder_time":%q}`, remindAt.Format(time.RFC3339))))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	const reminderTrace = "5a9c1e4f0b7d3c2a8e6f4d2b1a0c9e8d"
	req.Header.Set("traceparent", "00-"+reminderTrace+"-1122334455667788-01")
	res, err = http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("task with a reminder: %v %v", res, err)
	}
	var dentist map[string]any
	_ = json.NewDecoder(res.Body).Decode(&dentist)
	res.Body.Close()
	reminded := false
	for end := time.Now().Add(30 * time.Second); !reminded && time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		_, body := get("/api/notifications")
		items, _ := body["items"].([]any)
		for _, it := range items {
			reminded = reminded || it.(map[string]any)["title"] == "dentist"
		}
	}
	if !reminded {
		t.Error("the reminder of a task never arrived as a notification")
	}
	// Reminders moved, cleared and deleted reach the reminder function
	// through its Triggers, which take only the events that touch a
	// reminder: the moved one fires once, at its new time and never early
	// (its first job was moved, not left to fire); the cleared and deleted
	// ones never fire.
	send := func(method, path, body string) map[string]any {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %v %v", method, path, res, err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return out
	}
	first := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
	moved := first.Add(4 * time.Second)
	for _, title := range []string{"moved", "cleared", "deleted"} {
		task := send("POST", "/api/tasks", fmt.Sprintf(`{"title":%q,"reminder_time":%q}`, title, first.Format(time.RFC3339)))
		path := "/api/tasks/" + task["id"].(string)
		switch title {
		case "moved":
			send("PATCH", path, fmt.Sprintf(`{"reminder_time":%q}`, moved.Format(time.RFC3339)))
		case "cleared":
			send("PATCH", path, `{"reminder_time":null}`)
		case "deleted":
			send("DELETE", path, "")
		}
	}
	notes := func() map[string][]map[string]any {
		_, body := get("/api/notifications")
		byTitle := map[string][]map[string]any{}
		items, _ := body["items"].([]any)
		for _, it := range items {
			n := it.(map[string]any)
			byTitle[n["title"].(string)] = append(byTitle[n["title"].(string)], n)
		}
		return byTitle
	}
	for end := time.Now().Add(30 * time.Second); len(notes()["moved"]) == 0 && time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
	}
	time.Sleep(2 * time.Second) // room for a late or second firing
	got := notes()
	if m := got["moved"]; len(m) != 1 {
		t.Errorf("the moved reminder fired %d times, want once", len(m))
	} else {
		at, _ := time.Parse(time.RFC3339Nano, m[0]["remind_at"].(string))
		delivered, _ := time.Parse(time.RFC3339Nano, m[0]["delivered_at"].(string))
		if !at.Equal(moved) || delivered.Before(moved) {
			t.Errorf("the moved reminder: remind_at %s, delivered %s; want %s, not before", at, delivered, moved)
		}
	}
	if len(got["cleared"])+len(got["deleted"]) != 0 {
		t.Errorf("a cleared or deleted reminder fired: %v", got)
	}
	// The trace of the create goes on through the Dapr job (its payload carries
	// the context) into reminder.due, and through notify into its notification.
	if got := traceIDs(t, cfg.KafkaAddr, "reminders")["dev.taskflow.reminder.due "+dentist["id"].(string)]; got != reminderTrace {
		t.Errorf("reminder.due has trace %q, want the create's %s", got, reminderTrace)
	}
	if got := traceIDs(t, cfg.KafkaAddr, "task-updates")["dev.taskflow.notification.created "+dentist["id"].(string)]; got != reminderTrace {
		t.Errorf("notification.created has trace %q, want the create's %s", got, reminderTrace)
	}
	res, err = http.Get(base + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()

	pids := make([]int, 0, len(s.procs))
	for _, p := range s.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("process %d still running after stop", pid)
		}
	}
}
