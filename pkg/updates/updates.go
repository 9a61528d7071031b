// Package updates serves GET /api/updates: a server-sent event stream of the
// user's task changes, read from the task-updates topic.
//
// Every replica must see every event, so nothing here joins a consumer group:
// each replica has one reader of every partition of task-updates (the hub,
// hub.go), from the end when it starts, and hands each record to the open
// streams of its user through a bounded buffer per stream. A stream that
// falls behind is ended rather than waited for; its client reconnects with
// Last-Event-ID. A message's id is the stream's position, one next offset per
// partition ("0:12,1:7,2:33"), so a client that reconnects to any replica
// resumes exactly where it was: from the replica's ring of recent records, or,
// for a position older than the ring, from Kafka.
package updates

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	sse "github.com/tmaxmax/go-sse"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/task"
)

// Limits.
const (
	MaxStreamsPerUser = 10
	Heartbeat         = 15 * time.Second
	// writeTimeout bounds one write to a client, so that a connection that
	// stopped reading ends its stream.
	writeTimeout = 15 * time.Second
	// catchUpTimeout bounds reading a resumed stream's missed records from
	// Kafka.
	catchUpTimeout = 15 * time.Second
)

// Config is the updates function's environment: its database (browser
// sessions are looked up there), its tokens' keys and the Kafka cluster it
// reads task-updates from.
type Config struct {
	fn.Base
	fn.Database
	fn.Auth
	kafka.Config
}

// Function is the updates function: the stream route and the replica's one
// reader of task-updates.
func Function(_ context.Context, cfg *Config, d *fn.Deps) (*fn.Function, error) {
	s, err := New(cfg.Brokers).WithAuth(cfg.Config.Auth)
	if err != nil {
		return nil, err
	}
	s.log = d.Log
	return &fn.Function{Routes: s.Routes(d), Start: s.Run, Ready: s.Ready}, nil
}

// Message is one SSE data payload: a task change, or a notification.
type Message struct {
	Type         string               `json:"type"` // created, updated, completed, skipped, deleted, notification
	Task         *task.Task           `json:"task,omitempty"`
	Notification *events.Notification `json:"notification,omitempty"`
}

var shortTypes = map[string]string{events.TaskCreated: "created", events.TaskUpdated: "updated",
	events.TaskCompleted: "completed", events.TaskSkipped: "skipped", events.TaskDeleted: "deleted"}

// Stream serves the update stream.
type Stream struct {
	brokers []string
	auth    kafka.Auth // TLS and SASL, when the cluster wants them
	log     *slog.Logger
	hub     *hub
	mu      sync.Mutex
	open    map[string]int // streams per user on this replica
	// catchUps counts resumptions read from Kafka, older than the ring.
	catchUps atomic.Int64
}

// New serves streams from brokers, in plaintext (see WithAuth). Streams are
// served once Run has started.
func New(brokers []string) *Stream {
	return &Stream{brokers: brokers, log: discard, open: map[string]int{},
		hub: newHub(events.Partitions[events.TopicTaskUpdates])}
}

// WithAuth sets the TLS and SASL of every Kafka client of s; an error for
// a setting sarama cannot use (kafka.Auth.Sarama).
func (s *Stream) WithAuth(a kafka.Auth) (*Stream, error) {
	if err := a.Sarama(sarama.NewConfig()); err != nil {
		return nil, err
	}
	s.auth = a
	return s, nil
}

// Run reads task-updates for every stream of this replica until ctx ends.
func (s *Stream) Run(ctx context.Context) error { return s.run(ctx) }

// Ready reports whether Run has found where task-updates ends.
func (s *Stream) Ready(context.Context) error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if !s.hub.ready {
		return errNotReady
	}
	return nil
}

// config is a reader's configuration with the stream's TLS and SASL.
func (s *Stream) config(clientID string) *sarama.Config {
	c := kafka.ConsumerConfig(clientID)
	_ = s.auth.Sarama(c) // checked by WithAuth
	return c
}

// Routes is the function's route set.
func (s *Stream) Routes(*fn.Deps) []fn.Route {
	return []fn.Route{{Method: http.MethodGet, Pattern: "/api/updates", Handle: s.serve, Stream: true}}
}

// position is the next offset to read per partition.
type position []int64

func (p position) String() string {
	parts := make([]string, 0, len(p))
	for part, off := range p {
		if off >= 0 {
			parts = append(parts, fmt.Sprintf("%d:%d", part, off))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// parsePosition reads a Last-Event-ID; a partition it does not name is -1.
func parsePosition(s string, partitions int32) (position, bool) {
	p := make(position, partitions)
	for i := range p {
		p[i] = -1
	}
	if s == "" {
		return p, true
	}
	for _, kv := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(kv, ":")
		part, err1 := strconv.ParseInt(a, 10, 32)
		off, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil || part < 0 || int32(part) >= partitions || off < 0 {
			return nil, false
		}
		p[part] = off
	}
	return p, true
}

func (s *Stream) acquire(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[user] >= MaxStreamsPerUser {
		return false
	}
	s.open[user]++
	return true
}

func (s *Stream) release(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[user]--; s.open[user] <= 0 {
		delete(s.open, user)
	}
}

func (s *Stream) serve(w http.ResponseWriter, r *http.Request, user string) error {
	from, ok := parsePosition(r.Header.Get("Last-Event-ID"), s.hub.partitions)
	if !ok {
		return errs.InvalidField("Last-Event-ID", "is not a position this stream gave")
	}
	if !s.acquire(user) {
		return errs.With(errs.ErrTooMany, fmt.Sprintf("at most %d open streams per user", MaxStreamsPerUser))
	}
	defer s.release(user)
	sub, replay, at, covered, err := s.hub.subscribe(user, from)
	if err != nil {
		return errs.Wrap(errs.ErrUnavailable, "kafka", err)
	}
	defer s.hub.unsubscribe(sub)
	for p := range from {
		if from[p] < 0 { // a partition the id does not name: from now on
			from[p] = at[p]
		}
	}
	out, err := s.upgrade(w, r)
	if err != nil {
		return nil
	}
	ctx, stopping := r.Context(), fn.Stopping(r.Context()) // no goroutine of its own: streams are many
	if !covered {
		if err := s.catchUp(ctx, user, from, at, out); err != nil {
			return nil // the client reconnects and tries again
		}
	} else {
		for _, e := range replay {
			out.add(e, from)
		}
	}
	if out.flush() != nil {
		return nil
	}
	heartbeat := time.NewTimer(Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case e := <-sub.ch:
			out.add(e, from)
			for more := true; more; { // send what is waiting in one flush
				select {
				case e := <-sub.ch:
					out.add(e, from)
				default:
					more = false
				}
			}
		case <-heartbeat.C:
			out.ping()
		case <-sub.gone:
			return nil // fell behind: the client resumes from its last id
		case <-ctx.Done():
			return nil
		case <-stopping:
			return nil
		}
		if out.flush() != nil {
			return nil // the client left
		}
		heartbeat.Reset(Heartbeat)
	}
}

// writer is one stream's connection.
type writer struct {
	sess *sse.Session
	rc   *http.ResponseController
}

func (s *Stream) upgrade(w http.ResponseWriter, r *http.Request) (*writer, error) {
	sess, err := sse.Upgrade(w, r)
	if err != nil {
		return nil, err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	out := &writer{sess: sess, rc: http.NewResponseController(w)}
	hello := &sse.Message{}
	hello.AppendComment("connected")
	if err := sess.Send(hello); err != nil {
		return nil, err
	}
	return out, out.flush()
}

// add sends e, unless the stream has it already (a resume position past e);
// its id is e's position, or from where from is further on.
func (w *writer) add(e *entry, from position) {
	if e.offset < from[e.part] {
		return
	}
	id := e.id
	for p, off := range from {
		if off > e.snap[p] {
			id = merged(e.snap, from).String()
			break
		}
	}
	w.send(id, e.typ, e.data)
}

func (w *writer) send(id, typ string, data []byte) {
	msg := &sse.Message{ID: sse.ID(id), Type: sse.Type(typ)}
	msg.AppendData(string(data))
	_ = w.sess.Send(msg)
}

func (w *writer) ping() {
	ping := &sse.Message{}
	ping.AppendComment("keep-alive")
	_ = w.sess.Send(ping)
}

func (w *writer) flush() error {
	_ = w.rc.SetWriteDeadline(time.Now().Add(writeTimeout)) // not every writer has one
	return w.sess.Flush()
}

// merged is the later of a and b in every partition.
func merged(a, b []int64) position {
	out := make(position, len(a))
	for i := range a {
		out[i] = max(a[i], b[i])
	}
	return out
}

// catchUp sends user's records from..at, read from Kafka: for a resume
// position older than the ring. from then reaches at.
func (s *Stream) catchUp(ctx context.Context, user string, from, at position, out *writer) error {
	offsets := map[int32]int64{}
	for p := range from {
		if from[p] < at[p] {
			offsets[int32(p)] = from[p]
		}
	}
	if len(offsets) == 0 {
		return nil
	}
	s.catchUps.Add(1)
	ctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	cl, err := sarama.NewClient(s.brokers, s.config("taskflow-updates-catch-up"))
	if err != nil {
		return err
	}
	defer cl.Close()
	cons, err := sarama.NewConsumerFromClient(cl)
	if err != nil {
		return err
	}
	defer cons.Close()
	msgs, err := kafka.Read(ctx, cons, events.TopicTaskUpdates, offsets, nil)
	if err != nil {
		return err
	}
	cur := append(position{}, from...)
	take := func(m *sarama.ConsumerMessage) bool { // false once every partition reached at
		p := m.Partition
		if cur[p] >= at[p] {
			return true // past the point the hub hands over
		}
		cur[p] = m.Offset + 1
		if e := s.entry(ctx, m); e != nil && e.user == user {
			out.send(cur.String(), e.typ, e.data)
		}
		for p := range cur {
			if cur[p] < at[p] {
				return true
			}
		}
		return false
	}
	for more := true; more; {
		select {
		case m, ok := <-msgs:
			if !ok {
				return ctx.Err()
			}
			more = take(m)
			for drained := false; more && !drained; { // send what is waiting in one flush
				select {
				case m, ok := <-msgs:
					if !ok {
						return ctx.Err()
					}
					more = take(m)
				default:
					drained = true
				}
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		if out.flush() != nil {
			return fmt.Errorf("client left")
		}
	}
	for p := range from {
		from[p] = max(from[p], at[p])
	}
	return nil
}

// decode reads a task change or notification and the user it belongs to.
func decode(ctx context.Context, m *sarama.ConsumerMessage) (string, Message, bool) {
	e, err := kafka.ToEvent(ctx, m)
	if err != nil {
		return "", Message{}, false
	}
	if e.Type() == events.NotificationCreated {
		var d events.NotificationData
		if json.Unmarshal(e.Data(), &d) != nil || d.UserID == "" {
			return "", Message{}, false
		}
		return d.UserID, Message{Type: "notification", Notification: &d.Notification}, true
	}
	short, ok := shortTypes[e.Type()]
	if !ok {
		return "", Message{}, false
	}
	var d events.TaskData
	if json.Unmarshal(e.Data(), &d) != nil || d.UserID == "" {
		return "", Message{}, false
	}
	return d.UserID, Message{Type: short, Task: &d.Task}, true
}
