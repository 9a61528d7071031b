package mcpserver_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkTools measures tool calls through the gateway, as an agent makes
// them (the SDK's client, Streamable HTTP, a bearer token), for a user with
// 100,000 tasks: add_task and list_tasks (the first page of 50 by due date).
// It reports the 95th percentile of the calls' latency as p95-ms.
//
//	go test ./pkg/mcpserver -run '^$' -bench Tools -benchtime 2000x
func BenchmarkTools(b *testing.B) {
	s := newStack(b)
	seed(b, s.dbURL, "bench", 100_000)
	cs := connectB(b, s, "bench")
	for _, c := range []struct {
		name string
		args func(i int) map[string]any
	}{
		{"add_task", func(i int) map[string]any {
			return map[string]any{"title": fmt.Sprintf("bench %d", i), "tags": []string{"bench"}, "due_date": "2031-05-04T07:00:00Z"}
		}},
		{"list_tasks", func(int) map[string]any { return map[string]any{"sort": "due_date", "limit": 50} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: c.name, Arguments: c.args(i)})
				if err != nil || res.IsError {
					b.Fatalf("%s: %v %v", c.name, err, res)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

// seed gives user n active tasks with due dates, in one statement.
func seed(b *testing.B, url, user string, n int) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `INSERT INTO tasks (id, user_id, title, status, priority, tags, tag_keys, due_date, created_at, updated_at)
		SELECT gen_random_uuid(), $1, 'seeded task ' || i, 'active', i % 4, ARRAY['t' || (i % 10)], ARRAY['t' || (i % 10)],
			now() + i * interval '1 minute', now(), now()
		FROM generate_series(1, $2) AS i`, user, n)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE tasks`); err != nil {
		b.Fatal(err)
	}
}

func connectB(b *testing.B, s *stack, user string) *mcp.ClientSession {
	c := mcp.NewClient(&mcp.Implementation{Name: "taskflow-bench", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: s.base + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{token(b, user)}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cs.Close() })
	return cs
}
