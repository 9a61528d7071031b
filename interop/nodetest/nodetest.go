// Package nodetest runs the interoperability tests' Node.js projects
// (interop/*/): independent clients from other ecosystems, driven against
// TaskFlow's functions. Nothing of TaskFlow needs Node to build or run; these
// tests skip, saying why, where Node is not installed.
package nodetest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Require skips t under -short (the tests start functions and run npm) and
// where node or npm is missing; what names the client for the message.
func Require(t *testing.T, what string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts functions and runs npm; skipped under -short")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the %s interoperability test needs Node.js and npm", tool, what)
		}
	}
}

// Run installs the project in the test's directory from its lock file
// (npm ci) and runs script with node and env added to the environment. The
// script must exit 0 and print ok, or the test fails with its output, which
// Run returns.
func Run(t *testing.T, ctx context.Context, script, ok string, env ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	install := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	run := exec.CommandContext(ctx, "node", script)
	run.Dir = dir
	run.Env = append(os.Environ(), env...)
	out, err := run.CombinedOutput()
	if err != nil || !strings.Contains(string(out), ok) {
		t.Fatalf("node %s: %v\n%s", script, err, out)
	}
	return string(out)
}
