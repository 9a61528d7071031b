package knative

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sourcesv1 "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/sources/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/apis/feature"
	"knative.dev/eventing/pkg/kncloudevents"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/taskflow/taskflow/pkg/broker"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/manifests"
)

type eventing struct {
	brokers  map[string]*eventingv1.Broker
	triggers map[string]*eventingv1.Trigger
	sources  map[string]*sourcesv1.KafkaSource
	services map[string]bool
}

// loadEventing reads knative/ and triggers/ through pkg/manifests, which
// decodes each object strictly into its Knative type and refuses any other kind.
func loadEventing(t *testing.T) eventing {
	t.Helper()
	set, err := manifests.Load(".", "../triggers")
	if err != nil {
		t.Fatal(err)
	}
	ev := eventing{brokers: map[string]*eventingv1.Broker{}, triggers: map[string]*eventingv1.Trigger{},
		sources: map[string]*sourcesv1.KafkaSource{}, services: map[string]bool{}}
	for _, d := range set.Brokers {
		ev.brokers[d.Object.Name] = d.Object
	}
	for _, d := range set.Triggers {
		ev.triggers[d.Object.Name] = d.Object
	}
	for _, d := range set.Sources {
		ev.sources[d.Object.Name] = d.Object
	}
	for _, d := range set.Services {
		ev.services[d.Object.Name] = true
	}
	return ev
}

type validatable interface {
	SetDefaults(context.Context)
	Validate(context.Context) *apis.FieldError
}

func validate(t *testing.T, name string, v validatable) {
	t.Helper()
	// Eventing's default feature flags (config-features as installed):
	// delivery-timeout is enabled there.
	flags, err := feature.NewFlagsConfigFromMap(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := feature.ToContext(apis.WithinCreate(context.Background()), flags)
	v.SetDefaults(ctx)
	if err := v.Validate(ctx).Filter(apis.ErrorLevel); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

// TestEventingValidates: Broker, Triggers and KafkaSources pass Knative's own
// defaulting and validation, and every reference resolves.
func TestEventingValidates(t *testing.T) {
	ev := loadEventing(t)
	if len(ev.brokers) != 1 || len(ev.sources) == 0 || len(ev.triggers) == 0 {
		t.Fatalf("want one Broker, KafkaSources and Triggers; got %d, %d, %d", len(ev.brokers), len(ev.sources), len(ev.triggers))
	}
	serviceRef := func(what string, ref *duckv1.KReference) {
		if ref == nil || ref.Kind != "Service" || ref.APIVersion != "serving.knative.dev/v1" || !ev.services[ref.Name] {
			t.Errorf("%s: %v is not a Service in knative/", what, ref)
		}
	}
	for name, b := range ev.brokers {
		validate(t, "broker "+name, b)
		if b.Annotations["eventing.knative.dev/broker.class"] != "Kafka" {
			t.Errorf("broker %s is not of the Kafka class", name)
		}
		serviceRef("broker "+name+" dead-letter sink", b.Spec.Delivery.DeadLetterSink.Ref)
	}
	for name, tr := range ev.triggers {
		validate(t, "trigger "+name, tr)
		if ev.brokers[tr.Spec.Broker] == nil {
			t.Errorf("trigger %s: no broker %s", name, tr.Spec.Broker)
		}
		// One TaskFlow event type, and besides it only extension attributes
		// TaskFlow's events carry (the reminder Triggers' taskflowreminder).
		typ := tr.Spec.Filter.Attributes["type"]
		if !strings.HasPrefix(typ, "dev.taskflow.") {
			t.Errorf("trigger %s: must filter on one TaskFlow event type, has %v", name, tr.Spec.Filter.Attributes)
		}
		for k, v := range tr.Spec.Filter.Attributes {
			if k != "type" && (k != events.ExtReminder || v != "true" || !strings.HasPrefix(typ, "dev.taskflow.task.")) {
				t.Errorf("trigger %s: filters on %s=%q, which no TaskFlow event carries", name, k, v)
			}
		}
		serviceRef("trigger "+name+" subscriber", tr.Spec.Subscriber.Ref)
		d := tr.Spec.Delivery
		if d == nil || d.Retry == nil || d.BackoffPolicy == nil || d.BackoffDelay == nil || d.DeadLetterSink == nil {
			t.Errorf("trigger %s: needs retry, backoff and a dead-letter sink", name)
			continue
		}
		// Retries ride out a restart of several minutes, and never wait so
		// long between two that a consumer back from an outage idles: with
		// Knative's own schedule (kncloudevents, retry n+1 after Backoff(n),
		// n from 0) and with the Kafka Broker's dispatcher in a cluster
		// (Backoff(n+1): WebClientCloudEventSender.retry).
		rc, err := kncloudevents.RetryConfigFromDeliverySpec(*d)
		if err != nil {
			t.Errorf("trigger %s: %v", name, err)
			continue
		}
		for _, from := range []int{0, 1} {
			var total, gap time.Duration
			for n := range rc.RetryMax {
				wait := rc.Backoff(n+from, nil)
				total, gap = total+wait, max(gap, wait)
			}
			if total < 3*time.Minute || gap > 20*time.Second {
				t.Errorf("trigger %s: retries cover %s with gaps up to %s; want at least 3 min, gaps of at most 20 s", name, total, gap)
			}
		}
		if d.Timeout == nil {
			t.Errorf("trigger %s: needs a delivery timeout (the Kafka Broker waits 10 min by default)", name)
		}
		// An ordered Trigger sees a task's events in order only if every
		// KafkaSource of its events delivers them to the Broker in order.
		switch order := tr.Annotations[broker.OrderAnnotation]; order {
		case "ordered":
			for _, ks := range ev.sources {
				if slices.Contains(ks.Spec.Topics, events.TopicTaskEvents) && strings.HasPrefix(typ, "dev.taskflow.task.") &&
					(ks.Spec.Ordering == nil || *ks.Spec.Ordering != "ordered") {
					t.Errorf("trigger %s is ordered but KafkaSource %s is not", name, ks.Name)
				}
			}
		case "", "unordered":
		default:
			t.Errorf("trigger %s: %s %q", name, broker.OrderAnnotation, order)
		}
		serviceRef("trigger "+name+" dead-letter sink", d.DeadLetterSink.Ref)
	}
	// kn's describe output and label selectors: every eventing object says
	// what it is and belongs to TaskFlow.
	var objs []metav1.ObjectMeta
	for _, b := range ev.brokers {
		objs = append(objs, b.ObjectMeta)
	}
	for _, tr := range ev.triggers {
		objs = append(objs, tr.ObjectMeta)
	}
	for _, ks := range ev.sources {
		objs = append(objs, ks.ObjectMeta)
	}
	for _, m := range objs {
		if m.Labels["app.kubernetes.io/part-of"] != "taskflow" || m.Annotations["taskflow.dev/description"] == "" {
			t.Errorf("%s: needs the part-of label and a taskflow.dev/description annotation", m.Name)
		}
	}
	for name, ks := range ev.sources {
		validate(t, "kafkasource "+name, ks)
		for _, topic := range ks.Spec.Topics {
			if _, ok := events.Partitions[topic]; !ok {
				t.Errorf("kafkasource %s reads %s, a topic TaskFlow does not use", name, topic)
			}
		}
		if ref := ks.Spec.Sink.Ref; ref == nil || ref.Kind != "Broker" || ev.brokers[ref.Name] == nil {
			t.Errorf("kafkasource %s: sink must be the Broker", name)
		}
	}
	// Every task event type a consumer needs has a Trigger, and the topics
	// the relay publishes reach the Broker.
	var topics []string
	for _, ks := range ev.sources {
		topics = append(topics, ks.Spec.Topics...)
	}
	for _, topic := range []string{events.TopicTaskEvents, events.TopicReminders} {
		if !slices.Contains(topics, topic) {
			t.Errorf("no KafkaSource reads %s", topic)
		}
	}
}
