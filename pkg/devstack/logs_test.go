package devstack

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogsKeepEachComponentInItsFile: every line goes to the component's
// file; the terminal gets only TaskFlow's warnings and errors (and lines that
// are not log records, such as a panic), never daprd's or etcd's chatter.
func TestLogsKeepEachComponentInItsFile(t *testing.T) {
	dir := t.TempDir()
	term := &syncBuf{}
	l := &logs{dir: dir, out: term}
	defer l.close()

	relay, err := l.writer("relay", true)
	if err != nil {
		t.Fatal(err)
	}
	dapr, err := l.writer("dapr", false)
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		`{"time":"2026-11-30T00:00:00Z","level":"INFO","msg":"serving","function":"relay"}`,
		`{"time":"2026-11-30T00:00:00Z","level":"DEBUG","msg":"poll","function":"relay"}`,
		`{"time":"2026-11-30T00:00:00Z","level":"WARN","msg":"publish failed","function":"relay"}`,
		`{"time":"2026-11-30T00:00:00Z","level":"ERROR","msg":"exit","function":"relay"}`,
		`panic: runtime error: index out of range [3] with length 2`,
	}
	for _, line := range lines {
		if _, err := io.WriteString(relay, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := io.WriteString(dapr, `{"level":"error","msg":"etcd: lost leader","scope":"dapr.scheduler"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	log, err := l.logger(slog.New(slog.NewTextHandler(term, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	log.Info("migrations applied")
	log.Warn("function exited; restarting", "function", "audit")

	waitFor(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "relay.log"))
		return strings.Count(string(b), "\n") == len(lines) && strings.Contains(term.String(), "panic:")
	})
	relayLog, _ := os.ReadFile(filepath.Join(dir, "relay.log"))
	if string(relayLog) != strings.Join(lines, "\n")+"\n" {
		t.Errorf("relay.log is not every line in order:\n%s", relayLog)
	}
	waitFor(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "dapr.log"))
		return strings.Contains(string(b), "lost leader")
	})
	devLog, _ := os.ReadFile(filepath.Join(dir, "devstack.log"))
	if !strings.Contains(string(devLog), "migrations applied") || !strings.Contains(string(devLog), "restarting") {
		t.Errorf("devstack.log misses the stack's own records:\n%s", devLog)
	}

	shownOut := term.String()
	for _, want := range []string{"publish failed", `"level":"ERROR"`, "panic:", "restarting"} {
		if !strings.Contains(shownOut, want) {
			t.Errorf("terminal misses %q:\n%s", want, shownOut)
		}
	}
	for _, not := range []string{"serving", `"msg":"poll"`, "lost leader", "migrations applied"} {
		if strings.Contains(shownOut, not) {
			t.Errorf("terminal shows %q, which belongs only in a log file:\n%s", not, shownOut)
		}
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !ok(); {
		if time.Now().After(end) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
