package fn

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

const runSecret = "run-test-secret-run-test-secret-run!"

// serve starts build under cfg in process and returns its base URL and a
// function that stops it and returns Serve's error.
func serve[C Settings](t *testing.T, cfg C, build Constructor[C]) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, "run-test", cfg, build, func(a net.Addr) { addr <- a }) }()
	select {
	case a := <-addr:
		return "http://" + a.String(), func() error { cancel(); return <-errc }
	case err := <-errc:
		cancel()
		t.Fatalf("Serve: %v", err)
	}
	return "", nil
}

func call(t *testing.T, method, url, token, contentType, body string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestServeRunsEveryPartOfAFunction: one function offering routes, events,
// a further handler, background work, readiness and a stop is served by
// Serve with its database opened (the config embeds Database), its routes
// behind authentication, its events at the root, and its background work
// and Stop run in order around the server's life.
func TestServeRunsEveryPartOfAFunction(t *testing.T) {
	cfg := &APIConfig{Base: Base{Host: "127.0.0.1", Port: 0, LogLevel: "error"},
		Database: Database{DatabaseURL: storetest.NewURL(t), MaxConns: 2},
		Auth:     Auth{auth.Config{Secret: runSecret}}}
	var started, stoppedWork, stopped atomic.Bool
	var hadStore atomic.Bool
	var events atomic.Int32
	build := func(ctx context.Context, c *APIConfig, d *Deps) (*Function, error) {
		hadStore.Store(d.Store != nil)
		return &Function{
			Routes: []Route{{Method: http.MethodGet, Pattern: "/api/tags", Handle: func(w http.ResponseWriter, r *http.Request, user string) error {
				return WriteJSON(w, http.StatusOK, map[string]string{"user": user})
			}}},
			Events: map[string]EventHandler{"dev.taskflow.test": func(context.Context, cloudevents.Event) error {
				events.Add(1)
				return nil
			}},
			Handlers: map[string]http.Handler{"POST /job/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			})},
			Start: func(ctx context.Context) error {
				started.Store(true)
				<-ctx.Done()
				stoppedWork.Store(true)
				return nil
			},
			Stop: func(context.Context) error {
				if !stoppedWork.Load() {
					return errors.New("Stop ran before the background work ended")
				}
				stopped.Store(true)
				return nil
			},
		}, nil
	}
	base, stop := serve(t, cfg, build)
	tok, _ := auth.Sign([]byte(runSecret), "alice", time.Now(), time.Minute)
	if !hadStore.Load() {
		t.Error("a config with Database got no store")
	}
	if code, _ := call(t, "GET", base+"/api/tags", "", "", ""); code != http.StatusUnauthorized {
		t.Errorf("route without a token: %d", code)
	}
	if code, body := call(t, "GET", base+"/api/alice/tags", tok, "", ""); code != http.StatusOK || !strings.Contains(body, `"alice"`) {
		t.Errorf("route: %d %s", code, body)
	}
	if code, _ := call(t, "GET", base+"/api/bob/tags", tok, "", ""); code != http.StatusForbidden {
		t.Errorf("another user's path: %d", code)
	}
	code, _ := call(t, "POST", base+"/", "", "application/json", `{}`,
		"Ce-Id", "1", "Ce-Source", "/test", "Ce-Type", "dev.taskflow.test", "Ce-Specversion", "1.0")
	if code != http.StatusAccepted || events.Load() != 1 {
		t.Errorf("event: %d, handled %d", code, events.Load())
	}
	if code, body := call(t, "GET", base+"/", "", "", ""); code != http.StatusMethodNotAllowed || !strings.Contains(body, "method_not_allowed") {
		t.Errorf("GET of the event root: %d %s", code, body)
	}
	if code, _ := call(t, "POST", base+"/job/x", "", "", ""); code != http.StatusNoContent {
		t.Errorf("further handler: %d", code)
	}
	if code, body := call(t, "GET", base+"/nowhere", "", "", ""); code != http.StatusNotFound || !strings.Contains(body, `"not_found"`) {
		t.Errorf("unknown path: %d %s", code, body)
	}
	if code, _ := call(t, "GET", base+"/readyz", "", "", ""); code != http.StatusOK {
		t.Errorf("readyz: %d", code)
	}
	if !started.Load() {
		t.Error("background work did not start")
	}
	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if !stopped.Load() {
		t.Error("Stop did not run")
	}
}

// TestServeOpensOnlyWhatTheConfigAsksFor: a config without Database gets no
// store (and needs no DATABASE_URL); a function offering routes with a
// config without Auth is refused at start.
func TestServeOpensOnlyWhatTheConfigAsksFor(t *testing.T) {
	type bare struct{ Base }
	var hadStore atomic.Bool
	base, stop := serve(t, &bare{Base{Host: "127.0.0.1", LogLevel: "error"}}, func(_ context.Context, _ *bare, d *Deps) (*Function, error) {
		hadStore.Store(d.Store != nil)
		return &Function{}, nil
	})
	if code, _ := call(t, "GET", base+"/readyz", "", "", ""); code != http.StatusOK {
		t.Errorf("readyz: %d", code)
	}
	if err := stop(); err != nil {
		t.Error(err)
	}
	if hadStore.Load() {
		t.Error("a config without Database got a store")
	}
	err := Serve(context.Background(), "t", &bare{Base{Host: "127.0.0.1", LogLevel: "error"}}, func(context.Context, *bare, *Deps) (*Function, error) {
		return &Function{Routes: []Route{{Method: "GET", Pattern: "/api/tags"}}}, nil
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "fn.Auth") {
		t.Errorf("routes without Auth: %v", err)
	}
}

// TestBackgroundFailureStopsTheFunction: background work that fails while
// the function serves stops it with the error, so that the process exits
// non-zero and Knative restarts it.
func TestBackgroundFailureStopsTheFunction(t *testing.T) {
	type bare struct{ Base }
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), "t", &bare{Base{Host: "127.0.0.1", LogLevel: "error"}}, func(context.Context, *bare, *Deps) (*Function, error) {
			return &Function{Start: func(context.Context) error { return errors.New("lost the outbox") }}, nil
		}, nil)
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "lost the outbox") {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the function kept serving without its background work")
	}
}

// TestSettingsNeedDescriptions: a setting without a description cannot be
// documented, and SettingsText refuses it.
func TestSettingsNeedDescriptions(t *testing.T) {
	var undocumented struct {
		Base
		X string `envconfig:"TASKFLOW_X"`
	}
	if _, err := SettingsText(&undocumented); err == nil || !strings.Contains(err.Error(), "TASKFLOW_X") {
		t.Errorf("undocumented setting: %v", err)
	}
	text, err := SettingsText(&ConsumerConfig{})
	if err != nil || !strings.Contains(text, "| `DATABASE_URL` | text |  | yes |") {
		t.Errorf("ConsumerConfig: %v\n%s", err, text)
	}
}

// TestRunExitCodes runs Run in a child process: a missing required setting
// exits 1 before anything is served; SIGTERM to a serving function exits 0.
func TestRunExitCodes(t *testing.T) {
	if os.Getenv("FN_RUN_CHILD") != "" {
		Run("child", new(ConsumerConfig), WithEvents(func(*Deps) map[string]EventHandler { return nil }))
		return
	}
	child := func(env ...string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRunExitCodes$")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "PORT=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, append([]string{"FN_RUN_CHILD=1", "TASKFLOW_LISTEN_HOST=127.0.0.1", "PORT=0"}, env...)...)
		cmd.WaitDelay = 30 * time.Second
		return cmd
	}
	cmd := child("LOG_LEVEL=error")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { <-ctx.Done(); _ = cmd.Process.Kill() }()
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("without DATABASE_URL: exit %d, want 1", code)
	}

	cmd = child("DATABASE_URL="+storetest.NewURL(t), "LOG_LEVEL=info")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	serving := make(chan struct{})
	go func() {
		var out strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := stderr.Read(buf)
			out.Write(buf[:n])
			if strings.Contains(out.String(), `"msg":"serving"`) {
				close(serving)
				_, _ = io.Copy(io.Discard, stderr)
				return
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-serving:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("the child never served")
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("SIGTERM: exit %d, want 0", code)
	}
}
