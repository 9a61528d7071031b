// Package devstack runs TaskFlow locally the way Knative runs it in a
// cluster: every Service in knative/ becomes its own process on its own port,
// the gateway serves the one REST base URL, and everything stops together.
package devstack

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/taskflow/taskflow/pkg/yamldoc"
)

// Module is the import path prefix of TaskFlow's ko:// images.
const Module = "github.com/taskflow/taskflow"

// Service is the part of a Knative Service manifest the local stack needs.
type Service struct {
	Name    string // metadata.name
	Package string // the ko:// import path of its image
	File    string
}

type manifest struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Template struct {
			Spec struct {
				Containers []struct {
					Image string `json:"image"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// Services reads every Knative Service in dir (one or more YAML documents a file).
func Services(dir string) ([]Service, error) {
	docs, err := yamldoc.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []Service
	for _, d := range docs {
		var m manifest
		if err := yaml.Unmarshal(d.Raw, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", d.File, err)
		}
		if m.Kind != "Service" || len(m.Spec.Template.Spec.Containers) == 0 {
			continue
		}
		img := m.Spec.Template.Spec.Containers[0].Image
		pkg, ok := strings.CutPrefix(img, "ko://")
		if !ok {
			return nil, fmt.Errorf("%s: image %q is not a ko:// path", d.File, img)
		}
		out = append(out, Service{Name: m.Metadata.Name, Package: pkg, File: d.File})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Binary is the file name `make build` gives the service's function.
func (s Service) Binary() string { return filepath.Base(s.Package) }
