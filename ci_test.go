// Package taskflow_test checks the repository's own plumbing: the CI, release
// and deploy workflows are valid and call only make targets and scripts that
// exist.
package taskflow_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
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
