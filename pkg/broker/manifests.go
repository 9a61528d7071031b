// Package broker is the local stand-in for Knative Eventing: it reads the
// same KafkaSource, Broker and Trigger manifests the cluster gets, consumes
// the topics as the KafkaSources would (consumer groups, offsets committed
// only after delivery), delivers each event to every matching Trigger's
// subscriber with the Trigger's retry, backoff and dead-letter sink, and
// serves a Broker ingress for CloudEvents posted over HTTP.
package broker

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/taskflow/taskflow/pkg/yamldoc"
)

// Source is a KafkaSource: topics read by a consumer group into the Broker.
type Source struct {
	Name          string
	Topics        []string
	ConsumerGroup string
	// Ordered delivers a partition's records one at a time (KafkaSource
	// spec.ordering: ordered); by default, as in Knative, they go out in parallel.
	Ordered bool
}

// Delivery is a Trigger's delivery spec.
type Delivery struct {
	Retry      int
	Backoff    time.Duration // the first delay; exponential doubles it per attempt
	Linear     bool
	DeadLetter string // a Service name; "" for none
}

// Trigger routes the events its filter matches to a Service.
type Trigger struct {
	Name string
	// Filter is filter.attributes: an event matches when it has each of
	// these attributes (context attributes or extensions) with exactly this
	// value, as Knative's attribute filter decides; none matches every event.
	Filter     map[string]string
	Subscriber string // a Service name
	Delivery   Delivery
}

// Manifests is what the local broker needs from knative/ and triggers/.
type Manifests struct {
	Sources  []Source
	Triggers []Trigger
	Default  Delivery // the Broker's delivery, for Triggers that have none
}

type ref struct {
	Ref *struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"ref"`
}

type deliverySpec struct {
	Retry          *int   `json:"retry"`
	BackoffPolicy  string `json:"backoffPolicy"`
	BackoffDelay   string `json:"backoffDelay"`
	DeadLetterSink *ref   `json:"deadLetterSink"`
}

type doc struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		// KafkaSource
		Topics        []string `json:"topics"`
		ConsumerGroup string   `json:"consumerGroup"`
		Ordering      string   `json:"ordering"`
		// Trigger
		Filter struct {
			Attributes map[string]string `json:"attributes"`
		} `json:"filter"`
		Subscriber ref `json:"subscriber"`
		// Trigger and Broker
		Delivery *deliverySpec `json:"delivery"`
	} `json:"spec"`
}

// Load reads every YAML document in dirs.
func Load(dirs ...string) (Manifests, error) {
	var m Manifests
	var pending []doc
	for _, dir := range dirs {
		docs, err := yamldoc.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return m, err
		}
		for _, part := range docs {
			var d doc
			if err := yaml.Unmarshal(part.Raw, &d); err != nil {
				return m, fmt.Errorf("%s: %w", part.File, err)
			}
			pending = append(pending, d)
		}
	}
	for _, d := range pending {
		switch d.Kind {
		case "Broker":
			del, err := delivery(d.Spec.Delivery, Delivery{Retry: 0})
			if err != nil {
				return m, fmt.Errorf("broker %s: %w", d.Metadata.Name, err)
			}
			m.Default = del
		case "KafkaSource":
			m.Sources = append(m.Sources, Source{Name: d.Metadata.Name, Topics: d.Spec.Topics,
				ConsumerGroup: d.Spec.ConsumerGroup, Ordered: d.Spec.Ordering == "ordered"})
		}
	}
	for _, d := range pending {
		if d.Kind != "Trigger" {
			continue
		}
		del, err := delivery(d.Spec.Delivery, m.Default)
		if err != nil {
			return m, fmt.Errorf("trigger %s: %w", d.Metadata.Name, err)
		}
		if d.Spec.Subscriber.Ref == nil || d.Spec.Subscriber.Ref.Kind != "Service" {
			return m, fmt.Errorf("trigger %s: subscriber must be a Service", d.Metadata.Name)
		}
		m.Triggers = append(m.Triggers, Trigger{Name: d.Metadata.Name, Filter: d.Spec.Filter.Attributes,
			Subscriber: d.Spec.Subscriber.Ref.Name, Delivery: del})
	}
	return m, nil
}

func delivery(s *deliverySpec, def Delivery) (Delivery, error) {
	if s == nil {
		return def, nil
	}
	d := def
	if s.Retry != nil {
		d.Retry = *s.Retry
	}
	if s.BackoffDelay != "" {
		b, err := isoDuration(s.BackoffDelay)
		if err != nil {
			return d, err
		}
		d.Backoff = b
	}
	d.Linear = s.BackoffPolicy == "linear"
	if s.DeadLetterSink != nil && s.DeadLetterSink.Ref != nil {
		d.DeadLetter = s.DeadLetterSink.Ref.Name
	}
	return d, nil
}

var isoRE = regexp.MustCompile(`^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$`)

// isoDuration parses the ISO 8601 durations Knative's backoffDelay uses (PT0.2S, PT1M).
func isoDuration(s string) (time.Duration, error) {
	m := isoRE.FindStringSubmatch(s)
	if m == nil || s == "PT" {
		return 0, fmt.Errorf("backoffDelay %q is not an ISO 8601 duration like PT0.2S", s)
	}
	var d time.Duration
	if m[1] != "" {
		h, _ := strconv.Atoi(m[1])
		d += time.Duration(h) * time.Hour
	}
	if m[2] != "" {
		mi, _ := strconv.Atoi(m[2])
		d += time.Duration(mi) * time.Minute
	}
	if m[3] != "" {
		sec, _ := strconv.ParseFloat(m[3], 64)
		d += time.Duration(sec * float64(time.Second))
	}
	return d, nil
}
