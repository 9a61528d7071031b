package drill

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/taskflow/taskflow/pkg/ports"
)

// postgres is a PostgreSQL cluster of the drill's own, so that restarting it
// disturbs nothing else on the machine.
type postgres struct {
	bin, dir string
	port     int
	as       []string // run as the postgres user when we are root (initdb refuses root)
}

// startPostgres makes and starts a throwaway cluster with the system's
// PostgreSQL binaries (Debian's postgresql package).
func startPostgres(ctx context.Context) (*postgres, string, error) {
	p := &postgres{bin: os.Getenv("TASKFLOW_PG_BIN")}
	if p.bin == "" {
		bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		if len(bins) == 0 {
			return nil, "", fmt.Errorf("no initdb under /usr/lib/postgresql: run scripts/postgres.sh --binaries (make test does)")
		}
		sort.Strings(bins)
		p.bin = filepath.Dir(bins[len(bins)-1])
	}
	base, err := os.MkdirTemp("", "taskflow-drill-pg-")
	if err != nil {
		return nil, "", err
	}
	p.dir = filepath.Join(base, "data")
	if err := os.Mkdir(p.dir, 0o700); err != nil {
		return nil, "", err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, "", fmt.Errorf("running as root needs a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(base, 0o755); err != nil {
			return nil, "", err
		}
		if err := os.Chown(p.dir, uid, gid); err != nil {
			return nil, "", err
		}
		p.as = []string{"runuser", "-u", "postgres", "--"}
	}
	if p.port, err = ports.Free(); err != nil {
		return nil, "", err
	}
	if err := p.run(ctx, "initdb", "-D", p.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		return nil, "", err
	}
	if err := p.start(ctx); err != nil {
		return nil, "", err
	}
	return p, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/taskflow?sslmode=disable", p.port), nil
}

func (p *postgres) run(ctx context.Context, name string, args ...string) error {
	argv := append(append(append([]string{}, p.as...), filepath.Join(p.bin, name)), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, out)
	}
	return nil
}

func (p *postgres) start(ctx context.Context) error {
	return p.run(ctx, "pg_ctl", "-D", p.dir, "-l", filepath.Join(p.dir, "server.log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300", p.port, p.dir), "start")
}

// crash stops the server the hard way (immediate mode: no checkpoint, as a
// power cut would), waits downFor, and starts it again: it recovers from its
// write-ahead log.
func (p *postgres) crash(ctx context.Context, downFor time.Duration) error {
	if err := p.run(ctx, "pg_ctl", "-D", p.dir, "-m", "immediate", "-w", "stop"); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(downFor):
	}
	return p.start(ctx)
}

// remove stops the server and deletes its files.
func (p *postgres) remove() {
	_ = p.run(context.Background(), "pg_ctl", "-D", p.dir, "-m", "fast", "-w", "stop")
	_ = os.RemoveAll(filepath.Dir(p.dir))
}
