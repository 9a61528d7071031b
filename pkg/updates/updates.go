// Package updates serves GET /api/updates: a server-sent event stream of the
// user's task changes, read from the task-updates topic.
//
// Every replica must see every event, so a stream does not join a consumer
// group: it reads all partitions of task-updates itself, from the end (or
// from the position in Last-Event-ID), and keeps the user's events. A
// message's id is the stream's position, one next offset per partition
// ("0:12,1:7,2:33"), so a client that reconnects to any replica resumes
// exactly where it was.
package updates

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	sse "github.com/tmaxmax/go-sse"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

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
)

// Config is the updates function's environment: its tokens' keys and the
// Kafka cluster it reads task-updates from (it has no database).
type Config struct {
	fn.Base
	fn.Auth
	kafka.Config
}

// Function is the updates function: the one stream route.
func Function(_ context.Context, cfg *Config, d *fn.Deps) (*fn.Function, error) {
	opts, err := cfg.Config.Auth.Opts()
	if err != nil {
		return nil, err
	}
	return &fn.Function{Routes: New(cfg.Brokers, opts...).Routes(d)}, nil
}

// Message is one SSE data payload: a task change, or a notification.
type Message struct {
	Type         string               `json:"type"` // created, updated, completed, deleted, notification
	Task         *task.Task           `json:"task,omitempty"`
	Notification *events.Notification `json:"notification,omitempty"`
}

var shortTypes = map[string]string{events.TaskCreated: "created", events.TaskUpdated: "updated",
	events.TaskCompleted: "completed", events.TaskDeleted: "deleted"}

// Stream serves the update stream.
type Stream struct {
	brokers []string
	client  []kgo.Opt // TLS and SASL, when the cluster wants them
	mu      sync.Mutex
	open    map[string]int // streams per user on this replica
}

// New serves streams from brokers; client adds options to every Kafka client
// (kafka.Auth.Opts).
func New(brokers []string, client ...kgo.Opt) *Stream {
	return &Stream{brokers: brokers, client: client, open: map[string]int{}}
}

// kafkaClient is a client of the stream's brokers with its options and opts.
func (s *Stream) kafkaClient(opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append(append([]kgo.Opt{kgo.SeedBrokers(s.brokers...)}, s.client...), opts...)...)
}

// Routes is the function's route set.
func (s *Stream) Routes(*fn.Deps) []fn.Route {
	return []fn.Route{{Method: http.MethodGet, Pattern: "/api/updates", Handle: s.serve, Stream: true}}
}

// position is the next offset to read per partition.
type position map[int32]int64

func (p position) String() string {
	parts := make([]string, 0, len(p))
	for part, off := range p {
		parts = append(parts, fmt.Sprintf("%d:%d", part, off))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func parsePosition(s string, partitions int32) (position, bool) {
	p := position{}
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
		p[int32(part)] = off
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
	partitions := events.Partitions[events.TopicTaskUpdates]
	pos, ok := parsePosition(r.Header.Get("Last-Event-ID"), partitions)
	if !ok {
		return errs.InvalidField("Last-Event-ID", "is not a position this stream gave")
	}
	if !s.acquire(user) {
		return errs.With(errs.ErrTooMany, fmt.Sprintf("at most %d open streams per user", MaxStreamsPerUser))
	}
	defer s.release(user)
	if err := s.complete(r.Context(), pos, partitions); err != nil {
		return errs.Wrap(errs.ErrUnavailable, "kafka", err)
	}
	offsets := map[int32]kgo.Offset{}
	for p, off := range pos {
		offsets[p] = kgo.NewOffset().At(off)
	}
	cl, err := s.kafkaClient(kgo.FetchMaxWait(time.Second),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{events.TopicTaskUpdates: offsets}))
	if err != nil {
		return errs.Wrap(errs.ErrUnavailable, "kafka", err)
	}
	defer cl.Close()
	sess, err := sse.Upgrade(w, r)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	hello := &sse.Message{}
	hello.AppendComment("connected")
	if err := sess.Send(hello); err != nil {
		return nil
	}
	if err := sess.Flush(); err != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-fn.Stopping(r.Context()):
			cancel()
		case <-ctx.Done():
		}
	}()
	for ctx.Err() == nil {
		pctx, pcancel := context.WithTimeout(ctx, Heartbeat)
		fs := cl.PollFetches(pctx)
		pcancel()
		sent := 0
		fs.EachRecord(func(rec *kgo.Record) {
			pos[rec.Partition] = rec.Offset + 1
			m, ok := decode(ctx, rec, user)
			if !ok {
				return
			}
			data, _ := json.Marshal(m)
			msg := &sse.Message{ID: sse.ID(pos.String()), Type: sse.Type(m.Type)}
			msg.AppendData(string(data))
			if sess.Send(msg) == nil {
				sent++
			}
		})
		if sent == 0 && ctx.Err() == nil {
			ping := &sse.Message{}
			ping.AppendComment("keep-alive")
			_ = sess.Send(ping)
		}
		if err := sess.Flush(); err != nil {
			return nil // the client left
		}
	}
	return nil
}

// complete fills the partitions pos lacks with their current end offsets, so
// that every message id names a position in every partition.
func (s *Stream) complete(ctx context.Context, pos position, partitions int32) error {
	if int32(len(pos)) == partitions {
		return nil
	}
	cl, err := s.kafkaClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, events.TopicTaskUpdates)
	if err != nil {
		return err
	}
	var missing error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			missing = o.Err
			return
		}
		if _, ok := pos[o.Partition]; !ok {
			pos[o.Partition] = o.Offset
		}
	})
	if missing == nil && int32(len(pos)) != partitions {
		missing = fmt.Errorf("%s has %d partitions, want %d", events.TopicTaskUpdates, len(pos), partitions)
	}
	return missing
}

// decode keeps the task changes and notifications of user.
func decode(ctx context.Context, rec *kgo.Record, user string) (Message, bool) {
	e, err := kafka.ToEvent(ctx, rec)
	if err != nil {
		return Message{}, false
	}
	if e.Type() == events.NotificationCreated {
		var d events.NotificationData
		if json.Unmarshal(e.Data(), &d) != nil || d.UserID != user {
			return Message{}, false
		}
		return Message{Type: "notification", Notification: &d.Notification}, true
	}
	short, ok := shortTypes[e.Type()]
	if !ok {
		return Message{}, false
	}
	var d events.TaskData
	if json.Unmarshal(e.Data(), &d) != nil || d.UserID != user {
		return Message{}, false
	}
	return Message{Type: short, Task: &d.Task}, true
}
