// Package taskflow_test checks the repository's own plumbing: the CI, release
// and deploy workflows are valid and call only make targets and scripts that
// exist.
package taskflow_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/taskflow/taskflow/pkg/yamldoc"
)

// The GitHub Actions keys TaskFlow's workflows use; decoding is strict, so a
// misspelt key fails the test.
type workflow struct {
	Name        string            `json:"name"`
	On          any               `json:"on"`
	Permissions map[string]string `json:"permissions"`
	Env         map[string]string `json:"env"`
	Jobs        map[string]job    `json:"jobs"`
}

type job struct {
	RunsOn         string            `json:"runs-on"`
	TimeoutMinutes int               `json:"timeout-minutes"`
	Services       map[string]any    `json:"services"`
	Env            map[string]string `json:"env"`
	Steps          []struct {
		Name string            `json:"name"`
		Uses string            `json:"uses"`
		With map[string]any    `json:"with"`
		Env  map[string]string `json:"env"`
		Run  string            `json:"run"`
	} `json:"steps"`
}

var (
	makeCall   = regexp.MustCompile(`\bmake\s+([a-z][a-z0-9-]*)`)
	scriptCall = regexp.MustCompile(`\bscripts/[A-Za-z0-9_./-]+`)
)

func TestWorkflowsCallWhatExists(t *testing.T) {
	files, _ := filepath.Glob(".github/workflows/*.yml")
	for _, want := range []string{"ci.yml", "release.yml", "deploy.yml"} {
		if _, err := os.Stat(filepath.Join(".github/workflows", want)); err != nil {
			t.Errorf("missing workflow %s", want)
		}
	}
	makefile, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var w workflow
		if err := yaml.UnmarshalStrict(data, &w); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if w.Name == "" || w.On == nil || len(w.Jobs) == 0 {
			t.Errorf("%s: needs name, on and jobs", f)
		}
		for name, j := range w.Jobs {
			if j.RunsOn == "" || len(j.Steps) == 0 {
				t.Errorf("%s: job %s needs runs-on and steps", f, name)
			}
			for _, s := range j.Steps {
				if (s.Run == "") == (s.Uses == "") {
					t.Errorf("%s: job %s step %q needs exactly one of run and uses", f, name, s.Name)
				}
				for _, m := range makeCall.FindAllStringSubmatch(s.Run, -1) {
					if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + `:`).Match(makefile) {
						t.Errorf("%s: make %s is not a Makefile target", f, m[1])
					}
				}
				for _, p := range scriptCall.FindAllString(s.Run, -1) {
					info, err := os.Stat(strings.TrimRight(p, "."))
					if err != nil || info.Mode()&0o111 == 0 {
						t.Errorf("%s: %s is not an executable script", f, p)
					}
				}
			}
		}
	}
}

// TestReleasePinsTheBaseImage: the release refuses a base image that is not
// pinned by digest.
func TestReleasePinsTheBaseImage(t *testing.T) {
	data, err := os.ReadFile(".github/workflows/release.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `*@sha256:*) ;;`) || !strings.Contains(string(data), "KO_DEFAULTBASEIMAGE=$base") {
		t.Error("release.yml must set KO_DEFAULTBASEIMAGE to a digest-pinned image and fail otherwise")
	}
}

// TestScriptsParse: every shell script is executable, parses, and passes
// shellcheck's warnings when shellcheck is installed.
func TestScriptsParse(t *testing.T) {
	files, _ := filepath.Glob("scripts/*.sh")
	if len(files) == 0 {
		t.Fatal("no scripts")
	}
	for _, f := range files {
		info, _ := os.Stat(f)
		if info.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", f)
		}
		if out, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", f, err, out)
		}
	}
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Log("shellcheck not installed (scripts/tools.sh installs it): scripts only parsed")
		return
	}
	if out, err := exec.Command("shellcheck", append([]string{"-S", "warning"}, files...)...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// TestDeployDocNamesWhatExists: every file, script and manifest that
// docs/deploy.md and scripts/deploy-minikube.sh name is in the repository,
// and the deploy/ manifests are YAML of the kinds they claim.
func TestDeployDocNamesWhatExists(t *testing.T) {
	path := regexp.MustCompile("(?:^|[\\s`(])((?:scripts|deploy|knative|triggers|docs|\\.github/workflows)/[A-Za-z0-9_./-]*[A-Za-z0-9_-])")
	for _, doc := range []string{"docs/deploy.md", "scripts/deploy-minikube.sh", "README.md"} {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range path.FindAllStringSubmatch(string(data), -1) {
			p := m[1]
			if strings.Contains(p, "<") {
				continue
			}
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s names %s, which does not exist", doc, p)
			}
		}
	}
	docs, _ := yamldoc.Glob("deploy/*.yaml")
	more, _ := yamldoc.Glob("deploy/*/*.yaml")
	if len(docs) == 0 || len(more) == 0 {
		t.Fatal("no manifests in deploy/")
	}
	nth := map[string]int{} // document index within its file
	for _, doc := range append(docs, more...) {
		f, d, i := doc.File, doc.Raw, nth[doc.File]
		nth[f]++
		var obj struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(d, &obj); err != nil || obj.APIVersion == "" || obj.Kind == "" ||
			obj.Metadata.Name == "" || obj.Metadata.Namespace == "" {
			t.Errorf("%s document %d: not a namespaced Kubernetes object (%v)", f, i, err)
			continue
		}
		// Kubernetes' own kinds decode strictly into their Go types;
		// Strimzi's have no types here and are only checked for their group.
		var typed any
		switch obj.APIVersion + " " + obj.Kind {
		case "batch/v1 Job":
			typed = &batchv1.Job{}
		case "apps/v1 StatefulSet":
			typed = &appsv1.StatefulSet{}
		case "v1 Service":
			typed = &corev1.Service{}
		default:
			if !strings.HasPrefix(obj.APIVersion, "kafka.strimzi.io/") {
				t.Errorf("%s document %d: unexpected %s %s", f, i, obj.APIVersion, obj.Kind)
			}
			continue
		}
		if err := yaml.UnmarshalStrict(d, typed); err != nil {
			t.Errorf("%s document %d (%s): %v", f, i, obj.Kind, err)
		}
	}
}
