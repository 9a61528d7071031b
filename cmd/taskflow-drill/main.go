// Command taskflow-drill runs TaskFlow's fault drills (pkg/drill) against the whole
// local stack and prints RELIABILITY.md's tables:
//
//	make drill                                  # every fault, 60 s each
//	make drill ARGS="-outage 10s -faults postgres,kafka"
//
// It needs the functions built (make build), the Dapr binaries
// (scripts/dapr.sh) and Debian's PostgreSQL server binaries; it starts a
// PostgreSQL cluster of its own, so nothing else on the machine is touched.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/taskflow/taskflow/pkg/drill"
	"github.com/taskflow/taskflow/pkg/fn"
)

func main() {
	var cfg drill.Config
	var faults string
	flag.DurationVar(&cfg.Outage, "outage", 60*time.Second, "how long each fault lasts")
	flag.IntVar(&cfg.Rate, "rate", 20, "load requests per second")
	flag.DurationVar(&cfg.Settle, "settle", 5*time.Minute, "how long the final checks wait for the pipeline")
	flag.StringVar(&faults, "faults", strings.Join(drill.Faults, ","), "which drills, in order")
	flag.StringVar(&cfg.BinDir, "bin", ".cache/bin", "the built functions")
	flag.StringVar(&cfg.DaprBin, "dapr", envOr("TASKFLOW_DAPR_BIN", ".cache/dapr/bin"), "daprd and scheduler")
	flag.Parse()
	cfg.Manifests, cfg.Triggers, cfg.Faults, cfg.Log = "knative", "triggers", strings.Split(faults, ","), os.Stderr
	ctx, stop := fn.SignalContext()
	defer stop()
	start := time.Now()
	rep, err := drill.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "drill:", err)
		os.Exit(1)
	}
	rep.Markdown(os.Stdout)
	fmt.Printf("\n(%s in all; rate %d/s)\n", time.Since(start).Round(time.Second), cfg.Rate)
	if len(rep.Problems) > 0 {
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
