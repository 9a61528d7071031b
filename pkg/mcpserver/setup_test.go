package mcpserver_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/gateway"
	"github.com/taskflow/taskflow/pkg/handlers"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/kafka/kafkatest"
	"github.com/taskflow/taskflow/pkg/mcpserver"
	"github.com/taskflow/taskflow/pkg/relay"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

const secret = "mcp-test-secret-mcp-test-secret-mcp-test"

// stack is the mcp function and the REST functions on one database, behind
// the gateway, with an embedded Kafka broker and the outbox relay: what an
// agent and a browser reach on the one base URL.
type stack struct {
	base  string // the gateway
	store *store.Store
	dbURL string
}

// serve starts a function in process and returns its base URL.
func serve[C fn.Settings](t testing.TB, ctx context.Context, name string, cfg C, build fn.Constructor[C]) string {
	t.Helper()
	addr := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- fn.Serve(ctx, name, cfg, build, func(a net.Addr) { addr <- a }) }()
	t.Cleanup(func() {
		if err := <-errc; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a.String()
	case err := <-errc:
		errc <- nil
		t.Fatalf("%s: %v", name, err)
	}
	return ""
}

func newStack(t testing.TB) *stack {
	t.Helper()
	st, url := storetest.New(t)
	brokers := []string{kafkatest.Start(t)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	base := fn.Base{Host: "127.0.0.1", LogLevel: "error"}
	db := fn.Database{DatabaseURL: url, MaxConns: 4}
	au := fn.Auth{Config: auth.Config{Secret: secret}}
	mcpURL := serve(t, ctx, "mcp", &mcpserver.Config{Base: base, Database: db, Auth: au,
		Config: kafka.Config{Brokers: brokers}}, mcpserver.Function)
	restURL := serve(t, ctx, "rest", &fn.APIConfig{Base: base, Database: db, Auth: au},
		func(_ context.Context, _ *fn.APIConfig, d *fn.Deps) (*fn.Function, error) {
			return &fn.Function{Routes: handlers.Every(d)}, nil
		})
	r := relay.New(relay.Config{Config: kafka.Config{Brokers: brokers}}, st, url, slog.New(slog.DiscardHandler))
	r.Wait = 100 * time.Millisecond
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	upstreams := []string{"mcp=" + mcpURL}
	for name := range handlers.Functions {
		upstreams = append(upstreams, name+"="+restURL)
	}
	g, err := gateway.New(upstreams, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(g)
	t.Cleanup(gw.Close)
	// The mcp function is ready once its reader of task-updates is.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		res, err := http.Get(mcpURL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the mcp function never became ready")
		}
	}
	return &stack{base: gw.URL, store: st, dbURL: url}
}

func token(t testing.TB, user string) string {
	tok, err := auth.Sign([]byte(secret), user, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// bearer adds the token to every request of the MCP client.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// connect opens an MCP session as user with the SDK's own client.
func (s *stack) connect(t *testing.T, user string, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "taskflow-test", Version: "1"}, opts)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: s.base + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{token(t, user)}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// call calls a tool and returns its result and the result's JSON (the
// structured content, or the error body of a tool error).
func call(t *testing.T, cs *mcp.ClientSession, name string, args any) (*mcp.CallToolResult, map[string]any) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error %v", name, err)
	}
	if len(res.Content) != 1 {
		t.Fatalf("%s: %d content blocks", name, len(res.Content))
	}
	text := res.Content[0].(*mcp.TextContent).Text
	var out map[string]any
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		t.Fatalf("%s: text %q is not JSON", name, text)
	}
	if res.IsError && res.StructuredContent != nil {
		t.Errorf("%s: a tool error with structured content", name)
	}
	if !res.IsError {
		sc, _ := json.Marshal(res.StructuredContent)
		var structured map[string]any
		_ = json.Unmarshal(sc, &structured)
		if len(structured) == 0 {
			t.Errorf("%s: no structured content", name)
		}
	}
	return res, out
}

// ok calls a tool that must succeed.
func ok(t *testing.T, cs *mcp.ClientSession, name string, args any) map[string]any {
	t.Helper()
	res, out := call(t, cs, name, args)
	if res.IsError {
		t.Fatalf("%s(%v): %v", name, args, out)
	}
	return out
}

// fails calls a tool that must fail with the API error code and, when
// given, the field errors named.
func fails(t *testing.T, cs *mcp.ClientSession, name string, args any, code string, fields ...string) map[string]any {
	t.Helper()
	res, out := call(t, cs, name, args)
	if !res.IsError {
		t.Fatalf("%s(%v) succeeded: %v", name, args, out)
	}
	e, _ := out["error"].(map[string]any)
	if e == nil || e["code"] != code {
		t.Fatalf("%s(%v): error %v, want code %s", name, args, out, code)
	}
	got, _ := e["fields"].(map[string]any)
	for _, f := range fields {
		if _, ok := got[f]; !ok {
			t.Errorf("%s(%v): no error for %s in %v", name, args, f, got)
		}
	}
	return e
}

// rest calls the REST API through the gateway.
func (s *stack) rest(t *testing.T, user, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token(t, user))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
