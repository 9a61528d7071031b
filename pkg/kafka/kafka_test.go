package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/attributes"

	"github.com/taskflow/taskflow/pkg/events"
)

// TestExtensionsReachTheRecord: an outbox event's extension attributes are
// ce_ headers of its binary-mode record, and read back they are string
// attributes that Knative's attribute filter matches; an event without them
// matches no filter on them.
func TestExtensionsReachTheRecord(t *testing.T) {
	ctx := context.Background()
	filter := attributes.NewAttributesFilter(map[string]string{"type": events.TaskUpdated, events.ExtReminder: "true"})
	for _, c := range []struct {
		ext  map[string]string
		want eventfilter.FilterResult
	}{
		{map[string]string{events.ExtReminder: "true"}, eventfilter.PassFilter},
		{nil, eventfilter.FailFilter},
	} {
		e := events.Event{ID: "0190c3a0-0000-7000-8000-000000000001", Type: events.TaskUpdated, Source: "/taskflow/update",
			Subject: "task-1", Time: time.Now(), Data: []byte(`{}`), Topics: []string{events.TopicTaskEvents}, Extensions: c.ext}
		msgs, err := Messages(ctx, e)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("messages: %d, %v", len(msgs), err)
		}
		rec := &sarama.ConsumerMessage{Topic: msgs[0].Topic}
		for _, h := range msgs[0].Headers {
			rec.Headers = append(rec.Headers, &sarama.RecordHeader{Key: h.Key, Value: h.Value})
		}
		rec.Value, _ = msgs[0].Value.Encode()
		if got, want := Header(rec, "ce_"+events.ExtReminder), c.ext[events.ExtReminder]; got != want {
			t.Errorf("header ce_%s = %q, want %q", events.ExtReminder, got, want)
		}
		ce, err := ToEvent(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		if got := filter.Filter(ctx, *ce); got != c.want {
			t.Errorf("extensions %v: filter %v, want %v", c.ext, got, c.want)
		}
	}
}
