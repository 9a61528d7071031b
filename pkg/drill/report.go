package drill

import (
	"fmt"
	"io"
	"time"
)

// Markdown writes the report as RELIABILITY.md's tables.
func (r *Report) Markdown(w io.Writer) {
	fmt.Fprintln(w, "| fault | down for | recovered in | load requests during the drill (acknowledged) |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, res := range r.Results {
		fmt.Fprintf(w, "| %s | %s | %s | %d (%d) |\n", describe(res.Fault), res.Outage, res.Recovery.Round(10*time.Millisecond), res.Requests, res.Acked)
	}
	fmt.Fprintf(w, "\nAcknowledged: %d creates, %d completions of recurring tasks, %d reminders due; %d events read back from task-events; latest notification %s after its reminder time.\n",
		r.Creates, r.Complete, r.Reminded, r.Events, r.Lateness.Round(10*time.Millisecond))
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "\nNothing lost, nothing doubled: every acknowledged write is stored, audited once and in task-events; every completed occurrence has exactly one successor; every due reminder has exactly one notification; no dead letters.")
		return
	}
	fmt.Fprintln(w, "\nProblems:")
	for _, p := range r.Problems {
		fmt.Fprintf(w, "- %s\n", p)
	}
}

func describe(fault string) string {
	switch fault {
	case "postgres":
		return "PostgreSQL crashed (immediate stop) and restarted"
	case "kafka":
		return "Kafka broker stopped and restarted (same log)"
	case "dapr":
		return "daprd and the scheduler killed (SIGKILL) and restarted"
	default:
		return "function " + fault + " killed (SIGKILL), kept down"
	}
}
