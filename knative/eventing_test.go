package knative

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rickb777/date/period"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sourcesv1 "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/sources/v1"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"sigs.k8s.io/yaml"

	"github.com/taskflow/taskflow/pkg/events"
)

type eventing struct {
	brokers  map[string]*eventingv1.Broker
	triggers map[string]*eventingv1.Trigger
	sources  map[string]*sourcesv1.KafkaSource
	services map[string]bool
}

var knownKinds = map[string]bool{"Service": true, "Broker": true, "Trigger": true, "KafkaSource": true, "ConfigMap": true}

func loadEventing(t *testing.T) eventing {
	t.Helper()
	ev := eventing{brokers: map[string]*eventingv1.Broker{}, triggers: map[string]*eventingv1.Trigger{},
		sources: map[string]*sourcesv1.KafkaSource{}, services: map[string]bool{}}
	all := append(objects(t, "*.yaml"), objects(t, "../triggers/*.yaml")...)
	for _, o := range all {
		if !knownKinds[o.kind.Kind] {
			t.Errorf("%s: unexpected kind %v", o.file, o.kind)
			continue
		}
		var err error
		switch o.kind {
		case eventingv1.SchemeGroupVersion.WithKind("Broker"):
			var b eventingv1.Broker
			err = yaml.UnmarshalStrict(o.raw, &b)
			ev.brokers[b.Name] = &b
		case eventingv1.SchemeGroupVersion.WithKind("Trigger"):
			var tr eventingv1.Trigger
			err = yaml.UnmarshalStrict(o.raw, &tr)
			ev.triggers[tr.Name] = &tr
		case sourcesv1.SchemeGroupVersion.WithKind("KafkaSource"):
			var ks sourcesv1.KafkaSource
			err = yaml.UnmarshalStrict(o.raw, &ks)
			ev.sources[ks.Name] = &ks
		case corev1.SchemeGroupVersion.WithKind("ConfigMap"):
			var cm corev1.ConfigMap
			err = yaml.UnmarshalStrict(o.raw, &cm)
		default:
			if o.kind.Kind == "Service" {
				var m struct {
					Metadata struct{ Name string } `json:"metadata"`
				}
				err = yaml.Unmarshal(o.raw, &m)
				ev.services[m.Metadata.Name] = true
			}
		}
		if err != nil {
			t.Errorf("%s: %v", o.file, err)
		}
	}
	return ev
}

type validatable interface {
	SetDefaults(context.Context)
	Validate(context.Context) *apis.FieldError
}

func validate(t *testing.T, name string, v validatable) {
	t.Helper()
	ctx := apis.WithinCreate(context.Background())
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
		// long between two that a consumer back from an outage idles.
		first, err := period.Parse(*d.BackoffDelay)
		if err != nil {
			t.Errorf("trigger %s: backoffDelay: %v", name, err)
			continue
		}
		var total, gap time.Duration
		for n := range int(*d.Retry) {
			wait := first.DurationApprox() * time.Duration(n+1) // linear
			if *d.BackoffPolicy == eventingduckv1.BackoffPolicyExponential {
				wait = first.DurationApprox() << n
			}
			total, gap = total+wait, max(gap, wait)
		}
		if total < 3*time.Minute || gap > 20*time.Second {
			t.Errorf("trigger %s: retries cover %s with gaps up to %s; want at least 3 min, gaps of at most 20 s", name, total, gap)
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
