// Package mcpts runs the TypeScript MCP SDK's own client (interop.mjs, npm
// package @modelcontextprotocol/sdk) against TaskFlow's mcp function. Only
// this test needs Node.js; nothing of TaskFlow does.
package mcpts

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/taskflow/taskflow/interop/nodetest"
	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/kafka/kafkatest"
	"github.com/taskflow/taskflow/pkg/mcpserver"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

const secret = "interop-test-secret-of-at-least-32-bytes"

func TestTypeScriptClient(t *testing.T) {
	nodetest.Require(t, "MCP TypeScript SDK")
	dbURL := storetest.NewURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := &mcpserver.Config{Base: fn.Base{Host: "127.0.0.1", LogLevel: "warn"},
		Database: fn.Database{DatabaseURL: dbURL, MaxConns: 4}, Auth: fn.Auth{Config: auth.Config{Secret: secret}},
		Config: kafka.Config{Brokers: []string{kafkatest.Start(t)}}}
	addr := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- fn.Serve(ctx, "mcp", cfg, mcpserver.Function, func(a net.Addr) { addr <- a }) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a.String()
	case err := <-errc:
		t.Fatalf("mcp: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("mcp did not start")
	}
	tok, err := auth.Sign([]byte(secret), "ts-agent", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	t.Logf("%s", nodetest.Run(t, ctx, "interop.mjs", "mcp-ts interop: ok", "TASKFLOW_URL="+base, "TASKFLOW_TOKEN="+tok))
}
