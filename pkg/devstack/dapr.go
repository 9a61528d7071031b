package devstack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/taskflow/taskflow/pkg/ports"
)

// Dapr is a running scheduler and one daprd sidecar, both real binaries
// (scripts/dapr.sh builds them).
type Dapr struct {
	GRPCAddr string // the sidecar's gRPC API, for DAPR_GRPC_ENDPOINT
	HTTPAddr string
	procs    []*exec.Cmd
	launch   func(context.Context) error
}

// Restart kills the sidecar and the scheduler (SIGKILL: a crash, not a
// shutdown), waits downFor, and starts them again on the same ports with the
// same data. Fault drills use it.
func (d *Dapr) Restart(ctx context.Context, downFor time.Duration) error {
	for _, p := range d.procs {
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
		_ = p.Wait()
	}
	d.procs = nil
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(downFor):
	}
	return d.launch(ctx)
}

func freePorts(n int) ([]int, error) {
	out := make([]int, n)
	for i := range out {
		p, err := ports.Free()
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// StartDapr starts the scheduler (its etcd data in dataDir) and a daprd for
// appID that calls the app back on appPort, all on loopback, and waits until
// both answer their health checks.
func StartDapr(ctx context.Context, binDir, dataDir, appID string, appPort int, out io.Writer) (*Dapr, error) {
	p, err := freePorts(9)
	if err != nil {
		return nil, err
	}
	sched, etcdPeer, etcdClient, schedHealth, schedMetrics := p[0], p[1], p[2], p[3], p[4]
	httpPort, grpcPort, internalPort, metrics := p[5], p[6], p[7], p[8]
	resources := filepath.Join(dataDir, "resources")
	for _, d := range []string{filepath.Join(dataDir, "etcd"), resources} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	d := &Dapr{GRPCAddr: "127.0.0.1:" + strconv.Itoa(grpcPort), HTTPAddr: "127.0.0.1:" + strconv.Itoa(httpPort)}
	start := func(name string, args ...string) error {
		cmd := exec.Command(filepath.Join(binDir, name), args...)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w (build it with scripts/dapr.sh)", name, err)
		}
		d.procs = append(d.procs, cmd)
		return nil
	}
	d.launch = func(ctx context.Context) error {
		if err := start("scheduler", "--mode", "standalone", "--id", "scheduler0", "--listen-address", "127.0.0.1",
			"--port", strconv.Itoa(sched), "--etcd-data-dir", filepath.Join(dataDir, "etcd"),
			"--etcd-initial-cluster", fmt.Sprintf("scheduler0=http://127.0.0.1:%d", etcdPeer),
			"--etcd-client-port", strconv.Itoa(etcdClient), "--healthz-port", strconv.Itoa(schedHealth),
			"--metrics-port", strconv.Itoa(schedMetrics), "--log-level", "warn"); err != nil {
			return err
		}
		if err := waitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/healthz", schedHealth), 60*time.Second); err != nil {
			d.Stop()
			return fmt.Errorf("dapr scheduler: %w", err)
		}
		if err := start("daprd", "--app-id", appID, "--app-port", strconv.Itoa(appPort), "--app-protocol", "http",
			"--dapr-http-port", strconv.Itoa(httpPort), "--dapr-grpc-port", strconv.Itoa(grpcPort),
			"--dapr-internal-grpc-port", strconv.Itoa(internalPort), "--metrics-port", strconv.Itoa(metrics),
			"--scheduler-host-address", fmt.Sprintf("127.0.0.1:%d", sched), "--resources-path", resources,
			"--placement-host-address", "", "--log-level", "warn"); err != nil {
			d.Stop()
			return err
		}
		// Outbound health: the sidecar itself, not yet its app (started after it).
		if err := waitStatus(ctx, "http://"+d.HTTPAddr+"/v1.0/healthz/outbound", http.StatusNoContent, 60*time.Second); err != nil {
			d.Stop()
			return fmt.Errorf("daprd: %w", err)
		}
		return nil
	}
	if err := d.launch(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// Stop ends the sidecar and the scheduler.
func (d *Dapr) Stop() {
	for i := len(d.procs) - 1; i >= 0; i-- {
		p := d.procs[i]
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	d.procs = nil
}

// waitStatus polls url until it answers want or limit passes.
func waitStatus(ctx context.Context, url string, want int, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	last := ""
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == want {
				return nil
			}
			last = res.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %s", url, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// DaprBin is where daprd and scheduler are: TASKFLOW_DAPR_BIN, or
// .cache/dapr/bin under the repository root (where scripts/dapr.sh builds
// them). It fails when daprd is not there.
func DaprBin(root string) (string, error) {
	d := os.Getenv("TASKFLOW_DAPR_BIN")
	if d == "" {
		d = filepath.Join(root, ".cache", "dapr", "bin")
	}
	d, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(d, "daprd")); err != nil {
		return "", fmt.Errorf("no daprd in %s: run scripts/dapr.sh (make test does)", d)
	}
	return d, nil
}
