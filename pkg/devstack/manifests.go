// Package devstack runs TaskFlow locally the way Knative runs it in a
// cluster: every Service in knative/ becomes its own process on its own port,
// the gateway serves the one REST base URL, and everything stops together.
package devstack

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/taskflow/taskflow/pkg/manifests"
)

// Module is the import path prefix of TaskFlow's ko:// images.
const Module = "github.com/taskflow/taskflow"

// Service is the part of a Knative Service manifest the local stack needs.
type Service struct {
	Name    string // metadata.name
	Package string // the ko:// import path of its image
	File    string
}

// Services reads every Knative Service in dir (manifests.Load), ordered by
// name; an image that is not a ko:// path is an error.
func Services(dir string) ([]Service, error) {
	set, err := manifests.Load(dir)
	if err != nil {
		return nil, err
	}
	var out []Service
	for _, d := range set.SortedServices() {
		cs := d.Object.Spec.Template.Spec.Containers
		if len(cs) == 0 {
			continue
		}
		pkg, ok := strings.CutPrefix(cs[0].Image, "ko://")
		if !ok {
			return nil, fmt.Errorf("%s: image %q is not a ko:// path", d.File, cs[0].Image)
		}
		out = append(out, Service{Name: d.Object.Name, Package: pkg, File: d.File})
	}
	return out, nil
}

// Binary is the file name `make build` gives the service's function.
func (s Service) Binary() string { return filepath.Base(s.Package) }
