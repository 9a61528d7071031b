// Package knative holds TaskFlow's deployment manifests; this test decodes
// them into the real Knative Serving types, applies Knative's defaults and
// validation, and checks every reference the manifests make.
package knative

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/taskflow/taskflow/pkg/devstack"
	"github.com/taskflow/taskflow/pkg/handlers"
	"github.com/taskflow/taskflow/pkg/manifests"
)

// services reads the Knative Services of knative/ through the reader the
// local stack and Broker use (pkg/manifests), by file.
func services(t *testing.T) map[string]*servingv1.Service {
	t.Helper()
	set, err := manifests.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Services) == 0 {
		t.Fatal("no Services")
	}
	out := map[string]*servingv1.Service{}
	for _, d := range set.Services {
		out[d.File] = d.Object
	}
	return out
}

// alwaysOn are the Services that are not request-driven, with the replica
// count they must keep ("" for at least one).
var alwaysOn = map[string]string{"relay": "1", "reminder": "", "notify": ""}

// TestServicesValidate applies Knative's own defaulting and validation; only
// error-level findings fail (the security-context advice is a warning).
func TestServicesValidate(t *testing.T) {
	for file, svc := range services(t) {
		ctx := apis.WithinCreate(context.Background())
		svc.SetDefaults(ctx)
		if err := svc.Validate(ctx).Filter(apis.ErrorLevel); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		if svc.Namespace != "taskflow" || svc.Labels["app.kubernetes.io/part-of"] != "taskflow" {
			t.Errorf("%s: namespace or part-of label missing", file)
		}
		tpl := svc.Spec.Template
		minScale, maxScale := tpl.Annotations["autoscaling.knative.dev/min-scale"], tpl.Annotations["autoscaling.knative.dev/max-scale"]
		if exact, ok := alwaysOn[svc.Name]; ok {
			if minScale != "1" || (exact != "" && maxScale != exact) {
				t.Errorf("%s: %s must always run (exactly %q replicas)", file, svc.Name, exact)
			}
		} else if minScale != "0" {
			t.Errorf("%s: functions scale to zero", file)
		}
		c := tpl.Spec.Containers[0]
		sc := c.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.AllowPrivilegeEscalation == nil ||
			*sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: security context is not restricted", file)
		}
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe == nil ||
			c.LivenessProbe.HTTPGet.Path != "/livez" {
			t.Errorf("%s: probes must be /readyz and /livez", file)
		}
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: memory request and limit required", file)
		}
		if tpl.Annotations["prometheus.io/scrape"] != "true" || tpl.Annotations["prometheus.io/path"] != "/metrics" {
			t.Errorf("%s: the pods must be marked for scraping at /metrics", file)
		}
		otel := false
		for _, e := range c.Env {
			otel = otel || (e.Name == "OTEL_EXPORTER_OTLP_ENDPOINT" && e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil)
		}
		if !otel {
			t.Errorf("%s: OTEL_EXPORTER_OTLP_ENDPOINT must come from the taskflow-config ConfigMap", file)
		}
		for _, e := range c.Env {
			if strings.Contains(e.Name, "SECRET") || strings.Contains(e.Name, "PASSWORD") || e.Name == "DATABASE_URL" {
				if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					t.Errorf("%s: %s must come from a Secret, not the manifest", file, e.Name)
				}
			}
		}
	}
}

// TestImagesAreFunctions: every ko:// image is a main package under
// functions/, every function has exactly one Service, and every API function
// is cluster-local behind the gateway.
func TestImagesAreFunctions(t *testing.T) {
	svcs, err := devstack.Services(".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range svcs {
		rel, ok := strings.CutPrefix(s.Package, devstack.Module+"/")
		if !ok || !strings.HasPrefix(rel, "functions/") {
			t.Errorf("%s: image %s is not a TaskFlow function", s.File, s.Package)
			continue
		}
		main, err := os.ReadFile(filepath.Join("..", rel, "main.go"))
		if err != nil || !strings.Contains(string(main), "package main") {
			t.Errorf("%s: %s is not a main package", s.File, rel)
		}
		if filepath.Base(rel) != s.Name {
			t.Errorf("%s: Service %s deploys %s", s.File, s.Name, rel)
		}
		names = append(names, s.Name)
	}
	dirs, _ := filepath.Glob("../functions/*/main.go")
	var fns []string
	for _, d := range dirs {
		fns = append(fns, filepath.Base(filepath.Dir(d)))
	}
	sort.Strings(fns)
	if !slices.Equal(names, fns) {
		t.Errorf("Services %v, functions %v", names, fns)
	}
	for file, svc := range services(t) {
		local := svc.Labels["networking.knative.dev/visibility"] == "cluster-local"
		if (svc.Name == "gateway") == local {
			t.Errorf("%s: only the gateway is public", file)
		}
		if svc.Name != "gateway" {
			continue
		}
		var upstreams string
		for _, e := range svc.Spec.Template.Spec.Containers[0].Env {
			if e.Name == "TASKFLOW_UPSTREAMS" {
				upstreams = e.Value
			}
		}
		for name := range handlers.Functions {
			if !strings.Contains(upstreams, name+"=http://"+name+".taskflow.svc.cluster.local") {
				t.Errorf("gateway has no upstream for %s", name)
			}
		}
	}
}
