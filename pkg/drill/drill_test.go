package drill

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/devstack"
)

// daprBin is where scripts/dapr.sh put the real daprd and scheduler.
func daprBin(t *testing.T) string {
	d, err := devstack.DaprBin("../..")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDrills runs every fault drill with short outages (3 s) against the
// whole stack under load, and requires that each recovers and that nothing
// acknowledged is lost or doubled. `make drill` runs the same drills with
// the outages RELIABILITY.md reports.
func TestDrills(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault drills run the whole stack for minutes")
	}
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", bin+"/", "../../functions/...").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var log strings.Builder
	rep, err := Run(context.Background(), Config{BinDir: bin, Manifests: "../../knative", Triggers: "../../triggers",
		DaprBin: daprBin(t), Outage: 3 * time.Second, Rate: 20, Settle: 3 * time.Minute, Log: &log})
	t.Log("\n" + log.String())
	if err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	rep.Markdown(&md)
	t.Log("\n" + md.String())
	if len(rep.Results) != len(Faults) {
		t.Errorf("%d drills ran, want %d", len(rep.Results), len(Faults))
	}
	if rep.Creates == 0 || rep.Complete == 0 || rep.Reminded == 0 || rep.Events == 0 {
		t.Errorf("the load did too little to check: %+v", rep)
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
}
