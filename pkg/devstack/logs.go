package devstack

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// logs keeps each component's own log in a file of its own under dir
// (<dir>/<component>.log, truncated when the stack starts), and copies to the
// terminal only what a person running the stack must see: TaskFlow's
// warnings and errors. Without a dir every line goes to the terminal,
// prefixed with its component, as tests and drills want.
type logs struct {
	dir string
	out io.Writer

	mu    sync.Mutex
	files map[string]*os.File
}

// file is component's log file, opened (and truncated) on first use.
func (l *logs) file(component string) (*os.File, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f, ok := l.files[component]; ok {
		return f, nil
	}
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(l.dir, component+".log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if l.files == nil {
		l.files = map[string]*os.File{}
	}
	l.files[component] = f
	return f, nil
}

// writer is where component's output goes. taskflow says the component is
// one of TaskFlow's own (its warnings and errors reach the terminal); the
// lines of others (daprd, the scheduler's etcd) stay in their file.
func (l *logs) writer(component string, taskflow bool) (io.Writer, error) {
	if l.dir == "" {
		return prefixed(l.out, component), nil
	}
	f, err := l.file(component)
	if err != nil {
		return nil, err
	}
	r, w := io.Pipe()
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(f, line)
			if taskflow && shown(line) {
				fmt.Fprintf(l.out, "%-9s| %s\n", component, line)
			}
		}
	}()
	return w, nil
}

// logger adds the stack's own log file (every level) to log, which keeps
// writing where it did (the terminal, at its own level).
func (l *logs) logger(log *slog.Logger) (*slog.Logger, error) {
	if l.dir == "" {
		return log, nil
	}
	f, err := l.file("devstack")
	if err != nil {
		return nil, err
	}
	file := slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})
	return slog.New(slog.NewMultiHandler(log.Handler(), file)), nil
}

// close closes every log file.
func (l *logs) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.files {
		_ = f.Close()
	}
	l.files = nil
}

// shown reports whether a line of a TaskFlow function belongs on the
// terminal: a JSON log line (pkg/fn's slog format) at WARN or above, or any
// line that is not such a log line (a panic's stack, a Go runtime error).
func shown(line string) bool {
	var rec struct {
		Level string `json:"level"`
	}
	if json.Unmarshal([]byte(line), &rec) != nil || rec.Level == "" {
		return strings.TrimSpace(line) != ""
	}
	return strings.HasPrefix(rec.Level, "WARN") || strings.HasPrefix(rec.Level, "ERROR")
}

// prefixed writes each line of a child's output as "name | line".
func prefixed(w io.Writer, name string) io.Writer {
	r, pw := io.Pipe()
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintf(w, "%-9s| %s\n", name, sc.Text())
		}
	}()
	return pw
}
