// Package manifests reads TaskFlow's deployment manifests (knative/ and
// triggers/) into Knative's own API types: the one reader the local stack,
// the local Broker and the manifest tests share, so that what runs locally is
// decoded exactly as the cluster's API server would take it.
package manifests

import (
	"fmt"
	"path/filepath"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sourcesv1 "knative.dev/eventing-kafka-broker/control-plane/pkg/apis/sources/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"sigs.k8s.io/yaml"

	"github.com/taskflow/taskflow/pkg/yamldoc"
)

// Doc is one decoded object and the file it came from.
type Doc[T any] struct {
	File   string
	Object T
}

// Set is every object of the manifests, by kind, each in file order.
type Set struct {
	Services   []Doc[*servingv1.Service]
	Brokers    []Doc[*eventingv1.Broker]
	Triggers   []Doc[*eventingv1.Trigger]
	Sources    []Doc[*sourcesv1.KafkaSource]
	ConfigMaps []Doc[*corev1.ConfigMap]
}

// The kinds the manifests may hold, as apiVersion and kind.
var (
	ServiceKind     = servingv1.SchemeGroupVersion.WithKind("Service")
	BrokerKind      = eventingv1.SchemeGroupVersion.WithKind("Broker")
	TriggerKind     = eventingv1.SchemeGroupVersion.WithKind("Trigger")
	KafkaSourceKind = sourcesv1.SchemeGroupVersion.WithKind("KafkaSource")
	ConfigMapKind   = corev1.SchemeGroupVersion.WithKind("ConfigMap")
)

// Load reads every YAML document of the *.yaml files in dirs (files in name
// order, "---" between documents; a document of comments only is skipped).
// Each object decodes strictly into its Knative (or Kubernetes) type: an
// unknown field or a kind other than the five above is an error naming the
// file, as kubectl apply --validate=strict would refuse it.
func Load(dirs ...string) (*Set, error) {
	s := &Set{}
	for _, dir := range dirs {
		docs, err := yamldoc.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if err := s.add(d); err != nil {
				return nil, fmt.Errorf("%s: %w", d.File, err)
			}
		}
	}
	return s, nil
}

func (s *Set) add(d yamldoc.Doc) error {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(d.Raw, &meta); err != nil {
		return err
	}
	if meta.Kind == "" && meta.APIVersion == "" {
		return nil
	}
	gv, err := schema.ParseGroupVersion(meta.APIVersion)
	if err != nil {
		return err
	}
	switch gv.WithKind(meta.Kind) {
	case ServiceKind:
		return decode(d, &s.Services)
	case BrokerKind:
		return decode(d, &s.Brokers)
	case TriggerKind:
		return decode(d, &s.Triggers)
	case KafkaSourceKind:
		return decode(d, &s.Sources)
	case ConfigMapKind:
		return decode(d, &s.ConfigMaps)
	}
	return fmt.Errorf("unexpected kind %s %s", meta.APIVersion, meta.Kind)
}

func decode[T any](d yamldoc.Doc, into *[]Doc[*T]) error {
	obj := new(T)
	if err := yaml.UnmarshalStrict(d.Raw, obj); err != nil {
		return err
	}
	*into = append(*into, Doc[*T]{File: d.File, Object: obj})
	return nil
}

// SortedServices returns the Services ordered by name.
func (s *Set) SortedServices() []Doc[*servingv1.Service] {
	out := append([]Doc[*servingv1.Service](nil), s.Services...)
	sort.Slice(out, func(i, j int) bool { return out[i].Object.Name < out[j].Object.Name })
	return out
}
