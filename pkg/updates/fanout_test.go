package updates

import (
	"bufio"
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

	"github.com/IBM/sarama"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/kafka/kafkatest"
	"github.com/taskflow/taskflow/pkg/task"
)

// replica is one updates function in process: its reader and its route.
func replica(t *testing.T, addr string) (*Stream, string) {
	t.Helper()
	v, _ := auth.NewVerifier(context.Background(), auth.Config{Secret: secret})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := start(t, addr)
	srv := httptest.NewServer(fn.API(v, quiet, s.Routes(nil)))
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// request opens GET /api/updates as user; the response is the caller's.
func request(t *testing.T, base, user, lastID string) *http.Response {
	t.Helper()
	tok, _ := auth.Sign([]byte(secret), user, time.Now(), time.Hour)
	req, _ := http.NewRequest("GET", base+"/api/updates", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// read parses a stream's messages into c until the body ends; no sleep is
// needed after the 200: the stream is registered before it answers.
func read(body io.ReadCloser, c chan<- sseMsg) {
	defer close(c)
	defer body.Close()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var m sseMsg
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if m.data != "" {
				c <- m
			}
			m = sseMsg{}
		case strings.HasPrefix(line, "id:"):
			m.id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
		case strings.HasPrefix(line, "event:"):
			m.typ = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			m.data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		}
	}
}

func stream(t *testing.T, base, user, lastID string) <-chan sseMsg {
	t.Helper()
	res := request(t, base, user, lastID)
	if res.StatusCode != 200 {
		t.Fatalf("stream of %s answered %d", user, res.StatusCode)
	}
	c := make(chan sseMsg, 10000)
	go read(res.Body, c)
	t.Cleanup(func() { res.Body.Close() })
	return c
}

// produce publishes task.created events of user's tasks, in one batch, each
// title in order per task id (the Kafka key): titles[i] is of task
// ids[i%len(ids)].
func produce(t *testing.T, cl sarama.SyncProducer, user string, ids []string, titles []string, description string) {
	t.Helper()
	var msgs []*sarama.ProducerMessage
	for i, title := range titles {
		now := time.Now()
		tk := task.Task{ID: ids[i%len(ids)], UserID: user, Title: title, Description: description, Status: task.Active,
			Priority: task.Medium, Tags: []string{}, CreatedAt: now, UpdatedAt: now}
		ce, err := kafka.CloudEvent(events.Created("/taskflow/test", tk)[0])
		if err != nil {
			t.Error(err)
			return
		}
		pm, err := kafka.ProducerMessage(context.Background(), events.TopicTaskUpdates, &ce)
		if err != nil {
			t.Error(err)
			return
		}
		msgs = append(msgs, pm)
	}
	if err := cl.SendMessages(msgs); err != nil { // called from several goroutines: no Fatal
		t.Error(err)
	}
}

func taskIDs(prefix byte, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("0193f0c2-0000-7000-8000-%c%011d", prefix, i)
	}
	return out
}

// collect reads n messages from c, as titles by task id, and every title in
// the order received.
func collect(t *testing.T, c <-chan sseMsg, n int) (map[string][]string, []string, string) {
	t.Helper()
	byTask := map[string][]string{}
	var all []string
	var last string
	for range n {
		select {
		case m, ok := <-c:
			if !ok {
				t.Fatalf("the stream ended after %d of %d messages", len(all), n)
			}
			var body Message
			if err := json.Unmarshal([]byte(m.data), &body); err != nil || body.Task == nil {
				t.Fatalf("message %+v: %v", m, err)
			}
			byTask[body.Task.ID] = append(byTask[body.Task.ID], body.Task.Title)
			all = append(all, body.Task.Title)
			last = m.id
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d messages", len(all), n)
		}
	}
	return byTask, all, last
}

// none checks that nothing more arrives on c for a while.
func none(t *testing.T, c <-chan sseMsg, who string) {
	t.Helper()
	select {
	case m, ok := <-c:
		if ok {
			t.Errorf("%s received more: %+v", who, m)
		}
	case <-time.After(300 * time.Millisecond):
	}
}

// TestFanOutToEveryStreamOfItsUser: two users with three streams each, on
// one replica; the changes of several tasks of each, interleaved. Every
// stream gets exactly its user's changes, each task's in order, all streams
// of a user in the same order; none of the other user's.
func TestFanOutToEveryStreamOfItsUser(t *testing.T) {
	addr := kafkatest.Start(t)
	_, base := replica(t, addr)
	cl := kafkatest.Producer(t, addr)
	users := map[string][]<-chan sseMsg{}
	for _, u := range []string{"ann", "ben"} {
		for range 3 {
			users[u] = append(users[u], stream(t, base, u, ""))
		}
	}
	const n = 60
	ids := map[string][]string{"ann": taskIDs('a', 4), "ben": taskIDs('b', 4)}
	var wg sync.WaitGroup
	for u := range users {
		titles := make([]string, n)
		for i := range titles {
			titles[i] = fmt.Sprintf("%s-%03d", u, i)
		}
		wg.Add(1)
		go func() { defer wg.Done(); produce(t, cl, u, ids[u], titles, "") }()
	}
	wg.Wait()
	for u, streams := range users {
		var first []string
		for i, c := range streams {
			byTask, all, _ := collect(t, c, n)
			if i == 0 {
				first = all
			} else if strings.Join(all, ",") != strings.Join(first, ",") {
				t.Errorf("%s: stream %d got another order than stream 0:\n%v\n%v", u, i, all, first)
			}
			for id, titles := range byTask {
				k := -1
				for j, want := range ids[u] {
					if want == id {
						k = j
					}
				}
				if k < 0 {
					t.Fatalf("%s received task %s of another user", u, id)
				}
				for j, title := range titles {
					if want := fmt.Sprintf("%s-%03d", u, k+4*j); title != want {
						t.Fatalf("%s stream %d, task %s: message %d is %s, want %s (every one once, in order)", u, i, id, j, title, want)
					}
				}
			}
			none(t, c, u)
		}
	}
}

// TestSlowStreamEndsAndOthersFlow: a stream whose client stops reading falls
// behind and is ended, while another stream of the same user receives every
// change in time; the slow client, reading again, finds its stream ended
// and resumes from its last id with exactly the changes it missed.
func TestSlowStreamEndsAndOthersFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("moves a few MiB through the embedded broker")
	}
	addr := kafkatest.Start(t)
	s, base := replica(t, addr)
	cl := kafkatest.Producer(t, addr)
	slow := request(t, base, "cat", "") // its body is not read for now
	fast := stream(t, base, "cat", "")
	const n = 1500
	titles := make([]string, n)
	for i := range titles {
		titles[i] = fmt.Sprintf("t%04d", i)
	}
	desc := strings.Repeat("x", 8<<10) // fills the slow client's socket buffers
	ids := taskIDs('c', 1)             // one partition: one order
	var got []string
	for i := 0; i < n; i += 50 { // at a pace the reading client keeps up with
		produce(t, cl, "cat", ids, titles[i:i+50], desc)
		_, chunk, _ := collect(t, fast, 50)
		got = append(got, chunk...)
	}
	s.hub.mu.Lock()
	dropped := s.hub.dropped
	s.hub.mu.Unlock()
	if dropped != 1 {
		t.Fatalf("%d streams dropped, want the slow one", dropped)
	}
	c := make(chan sseMsg, n)
	read(slow.Body, c) // returns at the end of the body: the stream was ended
	var seen []string
	last := ""
	for m := range c {
		var body Message
		_ = json.Unmarshal([]byte(m.data), &body)
		seen = append(seen, body.Task.Title)
		last = m.id
	}
	if len(seen) == 0 || len(seen) >= n {
		t.Fatalf("the slow stream got %d of %d before it ended", len(seen), n)
	}
	_, rest, _ := collect(t, stream(t, base, "cat", last), n-len(seen))
	if all := append(seen, rest...); strings.Join(all, ",") != strings.Join(titles, ",") {
		t.Errorf("slow stream and its resumption: %d messages, not each change once in order", len(all))
	}
}

// TestResumeFromTheRingOrFromKafka: a position the replica's ring still
// covers resumes from memory; a position from before a replica started (a
// client that comes from another replica) is read from Kafka. Both give
// exactly the changes after the position.
func TestResumeFromTheRingOrFromKafka(t *testing.T) {
	addr := kafkatest.Start(t)
	s1, base1 := replica(t, addr)
	cl := kafkatest.Producer(t, addr)
	ids := taskIDs('d', 3)
	first := stream(t, base1, "dan", "")
	produce(t, cl, "dan", ids, []string{"d0", "d1", "d2"}, "")
	produce(t, cl, "eve", taskIDs('e', 1), []string{"e0"}, "")
	_, _, id := collect(t, first, 3)
	produce(t, cl, "dan", ids, []string{"d3", "d4", "d5", "d6"}, "")
	produce(t, cl, "eve", taskIDs('e', 1), []string{"e1"}, "")

	s2, base2 := replica(t, addr) // starts at the end: d3..d6 are before it
	var lives []string            // the live changes of earlier rounds, after the position too
	for _, r := range []struct {
		name    string
		s       *Stream
		base    string
		catchUp int
	}{{"same replica (ring)", s1, base1, 0}, {"new replica (Kafka)", s2, base2, 1}} {
		// Wait until the first replica's reader has the later changes.
		for deadline := time.Now().Add(5 * time.Second); r.s == s1 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			s1.hub.mu.Lock()
			n := s1.hub.seq
			s1.hub.mu.Unlock()
			if n == 9 {
				break
			}
		}
		before := r.s.catchUps.Load()
		c := stream(t, r.base, "dan", id)
		byTask, _, _ := collect(t, c, 4+len(lives))
		if got := r.s.catchUps.Load() - before; got != int64(r.catchUp) {
			t.Errorf("%s: %d reads from Kafka, want %d", r.name, got, r.catchUp)
		}
		want := map[string][]string{ids[0]: append([]string{"d3", "d6"}, lives...), ids[1]: {"d4"}, ids[2]: {"d5"}}
		for tid, titles := range want {
			if strings.Join(byTask[tid], ",") != strings.Join(titles, ",") {
				t.Errorf("%s: task %s resumed with %v, want %v", r.name, tid, byTask[tid], titles)
			}
		}
		live := fmt.Sprintf("live%d", len(lives))
		lives = append(lives, live)
		produce(t, cl, "dan", ids, []string{live}, "") // then the live changes follow
		if byTask, _, _ := collect(t, c, 1); len(byTask[ids[0]]) != 1 || byTask[ids[0]][0] != live {
			t.Errorf("%s: after resuming, %v", r.name, byTask)
		}
		none(t, c, r.name)
	}
}

// TestStreamsPerUserAreLimited: the eleventh open stream of a user is a 429;
// another user is not affected, and a closed stream frees its place.
func TestStreamsPerUserAreLimited(t *testing.T) {
	addr := kafkatest.Start(t)
	_, base := replica(t, addr)
	var open []*http.Response
	for range MaxStreamsPerUser {
		res := request(t, base, "fay", "")
		if res.StatusCode != 200 {
			t.Fatalf("stream %d: %d", len(open)+1, res.StatusCode)
		}
		open = append(open, res)
	}
	res := request(t, base, "fay", "")
	if res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("stream %d: %d, want 429", MaxStreamsPerUser+1, res.StatusCode)
	}
	res.Body.Close()
	res = request(t, base, "gus", "")
	if res.StatusCode != 200 {
		t.Errorf("another user: %d", res.StatusCode)
	}
	res.Body.Close()
	open[0].Body.Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		res := request(t, base, "fay", "")
		res.Body.Close()
		if res.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream's place was never freed: %d", res.StatusCode)
		}
	}
	for _, r := range open[1:] {
		r.Body.Close()
	}
}

// TestHubNeverWaits: the hub hands records on without waiting; a subscriber
// that does not take them is dropped once its buffer is full, the others
// get every record, and the ring forgets the oldest records beyond RingSize.
func TestHubNeverWaits(t *testing.T) {
	h := newHub(1)
	h.start([]int64{100})
	stuck, _, _, _, _ := h.subscribe("u", []int64{100})
	live, _, _, _, _ := h.subscribe("u", []int64{100})
	other, _, _, _, _ := h.subscribe("v", []int64{100})
	for i := range RingSize + 10 {
		h.add(0, int64(100+i), &entry{user: "u", typ: "created"})
		select { // the reading subscriber takes each record as it comes
		case e := <-live.ch:
			if e.offset != int64(100+i) {
				t.Fatalf("record %d has offset %d", i, e.offset)
			}
		default:
			t.Fatalf("record %d did not reach the reading subscriber", i)
		}
	}
	select {
	case <-stuck.gone:
	default:
		t.Error("a subscriber that took nothing is still subscribed")
	}
	select {
	case <-live.gone:
		t.Error("the reading subscriber was dropped")
	case <-other.gone:
		t.Error("another user's subscriber was dropped")
	default:
	}
	if len(other.ch) != 0 {
		t.Errorf("another user's subscriber got %d records", len(other.ch))
	}
	_, replay, _, covered, _ := h.subscribe("u", []int64{100 + 10})
	if !covered || len(replay) != RingSize || replay[0].offset != 110 {
		t.Errorf("ring from 110: covered %v, %d records", covered, len(replay))
	}
	if _, _, _, covered, _ := h.subscribe("u", []int64{109}); covered {
		t.Error("the ring claims a record it forgot")
	}
}
