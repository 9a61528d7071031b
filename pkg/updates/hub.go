package updates

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/kafka"
)

// Fan-out bounds.
const (
	// RingSize is how many recent records of users per partition a replica
	// keeps to resume streams from; older positions are read from Kafka.
	RingSize = 1024
	// Buffer is how many records a stream may fall behind before it is ended
	// (the client reconnects with Last-Event-ID and resumes).
	Buffer = 128
)

// entry is one record of task-updates as every stream sends it: decoded and
// encoded once, whoever receives it.
type entry struct {
	part   int32
	offset int64
	seq    uint64 // the hub's order of arrival
	user   string
	typ    string
	data   []byte  // the SSE data: a Message as JSON
	snap   []int64 // the hub's next offset per partition just after this record
	id     string  // snap as a position
}

// subscriber is one open stream on the hub.
type subscriber struct {
	user string
	ch   chan *entry
	gone chan struct{} // closed when the hub drops it: its buffer overflowed
}

// hub is a replica's one reader of task-updates: every partition, no consumer
// group, from the end when it starts. It hands each record of a user to that
// user's subscribers without ever waiting for one, and keeps the latest
// RingSize records of users per partition to resume streams from.
type hub struct {
	partitions int32
	mu         sync.Mutex
	ready      bool
	seq        uint64
	pos        []int64 // next offset per partition
	rings      []ring
	subs       map[string]map[*subscriber]struct{}
	dropped    int // subscribers dropped for falling behind (tests, metrics)
}

func newHub(partitions int32) *hub {
	return &hub{partitions: partitions, pos: make([]int64, partitions), rings: make([]ring, partitions),
		subs: map[string]map[*subscriber]struct{}{}}
}

// errNotReady: the hub has not yet found where the topic ends.
var errNotReady = errors.New("the update reader is not started")

// start sets where the hub reads from: the end of every partition.
func (h *hub) start(ends []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	copy(h.pos, ends)
	for p := range h.rings {
		h.rings[p] = ring{start: ends[p], buf: make([]*entry, 0, 16)}
	}
	h.ready = true
}

// add takes the next record of partition part. e is nil for a record no
// stream shows (it only moves the position).
func (h *hub) add(part int32, offset int64, e *entry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pos[part] = offset + 1
	if e == nil {
		return
	}
	h.seq++
	e.part, e.offset, e.seq = part, offset, h.seq
	e.snap = slices.Clone(h.pos)
	e.id = position(e.snap).String()
	h.rings[part].add(e)
	for s := range h.subs[e.user] {
		select {
		case s.ch <- e:
		default: // never wait for one stream: end it, it resumes from the ring
			delete(h.subs[e.user], s)
			close(s.gone)
			h.dropped++
		}
	}
	if len(h.subs[e.user]) == 0 {
		delete(h.subs, e.user)
	}
}

// subscribe registers a stream of user that has seen the records before
// from. It returns the records after from that the ring holds (in the
// hub's order) and the hub's position at registration, from which on every
// record of user comes through the subscriber; covered is false when the
// ring no longer reaches back to from (the caller reads from..at from Kafka).
func (h *hub) subscribe(user string, from []int64) (s *subscriber, replay []*entry, at []int64, covered bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.ready {
		return nil, nil, nil, false, errNotReady
	}
	at = slices.Clone(h.pos)
	covered = true
	for p := range h.rings {
		if from[p] < at[p] {
			if from[p] < h.rings[p].start {
				covered = false
				continue
			}
			replay = h.rings[p].since(from[p], user, replay)
		}
	}
	if !covered {
		replay = nil
	}
	slices.SortFunc(replay, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	s = &subscriber{user: user, ch: make(chan *entry, Buffer), gone: make(chan struct{})}
	if h.subs[user] == nil {
		h.subs[user] = map[*subscriber]struct{}{}
	}
	h.subs[user][s] = struct{}{}
	return s, replay, at, covered, nil
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[s.user], s)
	if len(h.subs[s.user]) == 0 {
		delete(h.subs, s.user)
	}
}

// ring is the latest records of users of one partition: it holds every such
// record from offset start up to the hub's position.
type ring struct {
	start int64
	buf   []*entry // circular once full
	head  int      // the oldest entry, once full
}

func (r *ring) add(e *entry) {
	if len(r.buf) < RingSize {
		r.buf = append(r.buf, e)
		return
	}
	r.start = r.buf[r.head].offset + 1
	r.buf[r.head] = e
	r.head = (r.head + 1) % RingSize
}

// since appends the entries of user at or after offset to out.
func (r *ring) since(offset int64, user string, out []*entry) []*entry {
	for i := range r.buf {
		e := r.buf[(r.head+i)%len(r.buf)]
		if e.offset >= offset && e.user == user {
			out = append(out, e)
		}
	}
	return out
}

// run reads task-updates until ctx ends: it finds the end of every partition
// (retrying while Kafka does not answer), then consumes from there.
func (s *Stream) run(ctx context.Context) error {
	cl, err := kafka.Connect(ctx, s.brokers, s.config("taskflow-updates"), func(err error) {
		s.log.Warn("connecting to kafka", "error", err)
	})
	if err != nil {
		return nil // ctx ended
	}
	defer cl.Close()
	ends, err := s.endOffsets(ctx, cl)
	if err != nil {
		return nil // ctx ended
	}
	cons, err := sarama.NewConsumerFromClient(cl)
	if err != nil {
		return err
	}
	defer cons.Close()
	from := make(map[int32]int64, len(ends))
	for p, off := range ends {
		from[int32(p)] = off
	}
	msgs, err := kafka.Read(ctx, cons, events.TopicTaskUpdates, from, func(err error) {
		s.log.Warn("reading task-updates", "error", err)
	})
	if err != nil {
		return err
	}
	s.hub.start(ends)
	for m := range msgs {
		s.hub.add(m.Partition, m.Offset, s.entry(ctx, m))
	}
	return nil
}

// entry decodes a record for the streams; nil when no stream shows it.
func (s *Stream) entry(ctx context.Context, m *sarama.ConsumerMessage) *entry {
	user, msg, ok := decode(ctx, m)
	if !ok {
		return nil
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return nil
	}
	return &entry{user: user, typ: msg.Type, data: data}
}

// endOffsets is the end of every partition of task-updates, asked until
// Kafka answers or ctx ends.
func (s *Stream) endOffsets(ctx context.Context, cl sarama.Client) ([]int64, error) {
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		ends, err := s.listEnds(cl)
		if err == nil {
			return ends, nil
		}
		s.log.Warn("finding the end of task-updates", "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (s *Stream) listEnds(cl sarama.Client) ([]int64, error) {
	listed, err := kafka.Ends(cl, events.TopicTaskUpdates)
	if err != nil {
		return nil, err
	}
	if len(listed) != int(s.hub.partitions) {
		return nil, fmt.Errorf("%s has %d partitions, want %d", events.TopicTaskUpdates, len(listed), s.hub.partitions)
	}
	ends := make([]int64, s.hub.partitions)
	for p, off := range listed {
		if p < 0 || p >= s.hub.partitions {
			return nil, fmt.Errorf("%s has partition %d, want 0..%d", events.TopicTaskUpdates, p, s.hub.partitions-1)
		}
		ends[p] = off
	}
	return ends, nil
}

var discard = slog.New(slog.DiscardHandler)

// Watch tells of every change to user's tasks and notifications from now on:
// one value on changes per record of user the replica reads (the record's
// type: created, updated, completed, deleted or notification), for another
// kind of client than a stream (the MCP server's resource subscriptions).
// changes is closed when stop is called, or when the watcher falls Buffer
// records behind (the caller then watches again if it still cares). Watch
// fails until Run has found where task-updates ends.
func (s *Stream) Watch(user string) (changes <-chan string, stop func(), err error) {
	h := s.hub
	sub, replay, _, _, err := h.subscribe(user, h.position())
	if err != nil {
		return nil, nil, err
	}
	out := make(chan string, Buffer)
	for _, e := range replay { // records that came between position and subscribe
		select {
		case out <- e.typ:
		default:
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case e := <-sub.ch:
				select {
				case out <- e.typ:
				default: // the watcher is behind: it already has changes to look at
				}
			case <-sub.gone:
				return
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return out, func() {
		once.Do(func() {
			close(done)
			h.unsubscribe(sub)
		})
	}, nil
}

// position is the hub's next offset per partition (zeros before it starts).
func (h *hub) position() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.pos)
}
