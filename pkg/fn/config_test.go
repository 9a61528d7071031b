package fn_test

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/kelseyhightower/envconfig"

	"github.com/taskflow/taskflow/pkg/devstack"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/gateway"
)

var update = flag.Bool("update", false, "rewrite testdata/config.golden")

// TestConfigNamesAreStable compares the environment variables every process
// reads with testdata/config.golden, so a renamed variable is a visible,
// reviewed change (README and manifests name them too).
func TestConfigNamesAreStable(t *testing.T) {
	const format = "{{range .}}{{usage_key .}}\t{{usage_type .}}\t{{usage_default .}}\t{{usage_required .}}\n{{end}}"
	var out bytes.Buffer
	for _, part := range []struct {
		name string
		spec any
	}{{"function", &fn.Config{}}, {"gateway", &gateway.Config{}}, {"devstack", &devstack.Config{}}} {
		out.WriteString("# " + part.name + "\n")
		if err := envconfig.Usagef("", part.spec, &out, format); err != nil {
			t.Fatal(err)
		}
	}
	if *update {
		if err := os.WriteFile("testdata/config.golden", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/config.golden")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("environment variables changed (go test ./pkg/fn -run TestConfigNamesAreStable -update):\n%s", out.String())
	}
}
