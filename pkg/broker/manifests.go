// Package broker is the local stand-in for Knative Eventing: it reads the
// same KafkaSource, Broker and Trigger manifests the cluster gets (through
// pkg/manifests, into Knative's types), consumes the topics as the
// KafkaSources would (consumer groups, offsets committed only after
// delivery), delivers each event to every matching Trigger's subscriber
// through Knative's own dispatcher (knative.dev/eventing/pkg/kncloudevents:
// retry, backoff, timeout, dead-letter sink), in parallel or, for a Trigger
// that asks for it, in order, and serves a Broker ingress for CloudEvents
// posted over HTTP.
package broker

import (
	"fmt"

	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"

	"github.com/taskflow/taskflow/pkg/manifests"
)

// Source is a KafkaSource: topics read by a consumer group into the Broker.
type Source struct {
	Name          string
	Topics        []string
	ConsumerGroup string
	// Ordered is spec.ordering: ordered. In a cluster an unordered
	// KafkaSource (the default) sends a partition's records to the Broker
	// in parallel, so their order is lost before any Trigger sees them:
	// the local Broker keeps a partition's order for an ordered Trigger
	// only when its source is ordered too.
	Ordered bool
}

// OrderAnnotation is the Trigger annotation by which Knative's Kafka Broker
// delivers a partition's events one at a time, in offset order
// (OrderAnnotation: "ordered"); without it ("unordered", the default) they
// are delivered in parallel.
const OrderAnnotation = "kafka.eventing.knative.dev/delivery.order"

// Trigger routes the events its filter matches to a Service.
type Trigger struct {
	Name string
	// Filter is filter.attributes: an event matches when it has each of
	// these attributes (context attributes or extensions) with exactly this
	// value, as Knative's attribute filter decides; none matches every event.
	Filter     map[string]string
	Subscriber string // a Service name
	// Delivery is the Trigger's spec.delivery over the Broker's, field by
	// field, as the Kafka Broker merges them; its deadLetterSink.ref.name
	// names a Service.
	Delivery eventingduckv1.DeliverySpec
	// Ordered is OrderAnnotation: "ordered".
	Ordered bool
}

// DeadLetter is the Service name of t's dead-letter sink ("" for none).
func (t Trigger) DeadLetter() string {
	if s := t.Delivery.DeadLetterSink; s != nil && s.Ref != nil {
		return s.Ref.Name
	}
	return ""
}

// Manifests is what the local broker needs from knative/ and triggers/.
type Manifests struct {
	Sources  []Source
	Triggers []Trigger
	Default  eventingduckv1.DeliverySpec // the Broker's delivery
}

// Load reads the manifests in dirs (manifests.Load) into what the local
// Broker runs. A Trigger's subscriber and dead-letter sink must be
// Services, and its ordering annotation "ordered", "unordered" or absent.
func Load(dirs ...string) (Manifests, error) {
	var m Manifests
	set, err := manifests.Load(dirs...)
	if err != nil {
		return m, err
	}
	for _, b := range set.Brokers {
		if b.Object.Spec.Delivery != nil {
			m.Default = *b.Object.Spec.Delivery
		}
	}
	for _, s := range set.Sources {
		ks := s.Object
		ordered := ks.Spec.Ordering != nil && string(*ks.Spec.Ordering) == "ordered"
		m.Sources = append(m.Sources, Source{Name: ks.Name, Topics: ks.Spec.Topics,
			ConsumerGroup: ks.Spec.ConsumerGroup, Ordered: ordered})
	}
	for _, d := range set.Triggers {
		tr := d.Object
		if ref := tr.Spec.Subscriber.Ref; ref == nil || ref.Kind != "Service" {
			return m, fmt.Errorf("trigger %s: subscriber must be a Service", tr.Name)
		}
		del := merge(tr.Spec.Delivery, m.Default)
		if s := del.DeadLetterSink; s != nil && (s.Ref == nil || s.Ref.Kind != "Service") {
			return m, fmt.Errorf("trigger %s: dead-letter sink must be a Service", tr.Name)
		}
		order := tr.Annotations[OrderAnnotation]
		if order != "" && order != "ordered" && order != "unordered" {
			return m, fmt.Errorf("trigger %s: %s is %q, not ordered or unordered", tr.Name, OrderAnnotation, order)
		}
		m.Triggers = append(m.Triggers, Trigger{Name: tr.Name, Filter: tr.Spec.Filter.Attributes,
			Subscriber: tr.Spec.Subscriber.Ref.Name, Delivery: del, Ordered: order == "ordered"})
	}
	return m, nil
}

// merge gives t's delivery with each field it leaves unset taken from the
// Broker's (def), as the Kafka Broker's control plane merges a Trigger's
// egress config over its Broker's.
func merge(t *eventingduckv1.DeliverySpec, def eventingduckv1.DeliverySpec) eventingduckv1.DeliverySpec {
	if t == nil {
		return def
	}
	d := *t
	if d.DeadLetterSink == nil {
		d.DeadLetterSink = def.DeadLetterSink
	}
	if d.Retry == nil {
		d.Retry = def.Retry
	}
	if d.BackoffPolicy == nil {
		d.BackoffPolicy = def.BackoffPolicy
	}
	if d.BackoffDelay == nil {
		d.BackoffDelay = def.BackoffDelay
	}
	if d.Timeout == nil {
		d.Timeout = def.Timeout
	}
	if d.RetryAfterMax == nil {
		d.RetryAfterMax = def.RetryAfterMax
	}
	return d
}
