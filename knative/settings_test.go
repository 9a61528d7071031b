package knative

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/taskflow/taskflow/pkg/accounts"
	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/deadletters"
	"github.com/taskflow/taskflow/pkg/devstack"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/gateway"
	"github.com/taskflow/taskflow/pkg/mcpserver"
	"github.com/taskflow/taskflow/pkg/relay"
	"github.com/taskflow/taskflow/pkg/reminders"
	"github.com/taskflow/taskflow/pkg/updates"
	"github.com/taskflow/taskflow/pkg/web"
)

var update = flag.Bool("update", false, "rewrite ../docs/settings.md")

// settings is each function's typed config, as its main.go names it.
var settings = map[string]struct {
	cfg  any
	main string // how functions/<name>/main.go names the config
}{
	"accounts":      {new(accounts.Config), "new(accounts.Config)"},
	"audit":         {new(fn.ConsumerConfig), "new(fn.ConsumerConfig)"},
	"calendar":      {new(fn.APIConfig), "new(fn.APIConfig)"},
	"complete":      {new(fn.APIConfig), "new(fn.APIConfig)"},
	"create":        {new(fn.APIConfig), "new(fn.APIConfig)"},
	"deadletter":    {new(deadletters.Config), "new(deadletters.Config)"},
	"delete":        {new(fn.APIConfig), "new(fn.APIConfig)"},
	"gateway":       {new(gateway.Config), "new(gateway.Config)"},
	"get":           {new(fn.APIConfig), "new(fn.APIConfig)"},
	"history":       {new(fn.APIConfig), "new(fn.APIConfig)"},
	"list":          {new(fn.APIConfig), "new(fn.APIConfig)"},
	"mcp":           {new(mcpserver.Config), "new(mcpserver.Config)"},
	"notifications": {new(fn.APIConfig), "new(fn.APIConfig)"},
	"notify":        {new(consumers.NotifyConfig), "new(consumers.NotifyConfig)"},
	"recurrence":    {new(fn.APIConfig), "new(fn.APIConfig)"},
	"relay":         {new(relay.Config), "new(relay.Config)"},
	"reminder":      {new(reminders.Config), "new(reminders.Config)"},
	"search":        {new(fn.APIConfig), "new(fn.APIConfig)"},
	"settings":      {new(fn.APIConfig), "new(fn.APIConfig)"},
	"tags":          {new(fn.APIConfig), "new(fn.APIConfig)"},
	"update":        {new(fn.APIConfig), "new(fn.APIConfig)"},
	"updates":       {new(updates.Config), "new(updates.Config)"},
	"web":           {new(web.Config), "new(web.Config)"},
}

// TestSettingsAreDocumented builds the complete settings of every function
// and of the local stack from their typed configs and compares them with
// docs/settings.md: a setting added, renamed or left without a description
// fails here. Each function's main.go must start it with the config listed,
// and each Knative Service may set only its function's settings and must set
// the required ones.
func TestSettingsAreDocumented(t *testing.T) {
	dirs, _ := filepath.Glob("../functions/*/main.go")
	var names []string
	for _, d := range dirs {
		name := filepath.Base(filepath.Dir(d))
		names = append(names, name)
		s, ok := settings[name]
		if !ok {
			t.Errorf("function %s has no entry in the settings table", name)
			continue
		}
		main, _ := os.ReadFile(d)
		if !bytes.Contains(main, []byte("fn.Run(\""+name+"\", "+s.main)) {
			t.Errorf("%s does not start with fn.Run(%q, %s, ...)", d, name, s.main)
		}
	}
	sort.Strings(names)
	var doc bytes.Buffer
	doc.WriteString("# Settings\n\nEvery environment variable each TaskFlow process reads, generated from the typed\n" +
		"configs (`go test ./knative -run TestSettingsAreDocumented -update`). Functions read them once at start.\n")
	known := map[string]map[string]bool{}
	required := map[string][]string{}
	for _, name := range names {
		text, err := fn.SettingsText(settings[name].cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fmt.Fprintf(&doc, "\n## %s\n\n%s", name, text)
		known[name] = map[string]bool{}
		for _, line := range strings.Split(text, "\n")[2:] {
			cells := strings.Split(line, "|")
			if len(cells) < 6 {
				continue
			}
			key := strings.Trim(strings.TrimSpace(cells[1]), "`")
			known[name][key] = true
			if strings.TrimSpace(cells[4]) == "yes" {
				required[name] = append(required[name], key)
			}
		}
	}
	text, err := fn.SettingsText(&devstack.Config{})
	if err != nil {
		t.Fatalf("local stack: %v", err)
	}
	fmt.Fprintf(&doc, "\n## the local stack (`taskflow-dev run`, `make run`)\n\n%s", text)
	if *update {
		if err := os.WriteFile("../docs/settings.md", doc.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("../docs/settings.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc.Bytes(), want) {
		t.Errorf("docs/settings.md is not the settings of the code (go test ./knative -run TestSettingsAreDocumented -update):\n%s", doc.String())
	}
	for file, svc := range services(t) {
		ok := known[svc.Name]
		if ok == nil {
			continue // TestImagesAreFunctions reports it
		}
		var set []string
		for _, c := range svc.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				set = append(set, e.Name)
				if !ok[e.Name] {
					t.Errorf("%s: sets %s, which function %s does not read", file, e.Name, svc.Name)
				}
			}
		}
		for _, r := range required[svc.Name] {
			if !slices.Contains(set, r) {
				t.Errorf("%s: does not set %s, which function %s requires", file, r, svc.Name)
			}
		}
	}
}
