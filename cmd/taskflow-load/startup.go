package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/taskflow/taskflow/pkg/devstack"
	"github.com/taskflow/taskflow/pkg/handlers"
	"github.com/taskflow/taskflow/pkg/ports"
)

// startup starts each function binary on a free port, measures the time until
// /readyz answers 200, lets it idle, and reads its resident memory.
func startup(ctx context.Context, o options) error {
	svcs, err := devstack.Services("knative")
	if err != nil {
		return err
	}
	for _, s := range svcs {
		bin := filepath.Join(o.binDir, s.Binary())
		port, err := ports.Free()
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "TASKFLOW_LISTEN_HOST=127.0.0.1", "LOG_LEVEL=warn")
		if s.Name == "gateway" {
			cmd.Env = append(cmd.Env, "TASKFLOW_UPSTREAMS="+gatewayUpstreams())
		}
		if os.Getenv("KAFKA_BROKERS") == "" {
			cmd.Env = append(cmd.Env, "KAFKA_BROKERS="+env("TASKFLOW_KAFKA_ADDR", "127.0.0.1:9092"))
		}
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		ready := waitOK(fmt.Sprintf("http://127.0.0.1:%d/livez", port), 10*time.Second)
		readyAfter := time.Since(t0)
		readyz := "-"
		if s.Name != "gateway" && s.Name != "relay" { // the gateway's readiness is its upstreams'; a second relay waits for the lock
			t1 := time.Now()
			if waitOK(fmt.Sprintf("http://127.0.0.1:%d/readyz", port), 10*time.Second) {
				readyz = ms(time.Since(t0)) + fmt.Sprintf(" (db ping %s)", ms(time.Since(t1)))
			}
		}
		time.Sleep(2 * time.Second)
		rss := rssKiB(cmd.Process.Pid)
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		fmt.Fprintf(o.out, "%-9s serving after %s (ok=%v), ready %s, idle RSS %.1f MiB\n", s.Name, ms(readyAfter), ready, readyz, float64(rss)/1024)
	}
	return nil
}

func gatewayUpstreams() string {
	var ups []string
	for n := range handlers.Functions {
		ups = append(ups, n+"=http://127.0.0.1:1")
	}
	return strings.Join(ups, ",")
}

func waitOK(url string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		res, err := c.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return true
			}
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}
