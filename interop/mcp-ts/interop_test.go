// Package mcpts runs the TypeScript MCP SDK's own client (interop.mjs, npm
// package @modelcontextprotocol/sdk) against TaskFlow's mcp function. Only
// this test needs Node.js; nothing of TaskFlow does.
package mcpts

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/kafka/kafkatest"
	"github.com/taskflow/taskflow/pkg/mcpserver"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

const secret = "interop-test-secret-of-at-least-32-bytes"

func TestTypeScriptClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the mcp function and runs npm; skipped under -short")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the MCP TypeScript SDK interoperability test needs Node.js and npm")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed: the MCP TypeScript SDK interoperability test needs Node.js and npm")
	}
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

	dir, _ := os.Getwd()
	install := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	run := exec.CommandContext(ctx, node, "interop.mjs")
	run.Dir = dir
	run.Env = append(os.Environ(), "TASKFLOW_URL="+base, "TASKFLOW_TOKEN="+tok)
	out, err := run.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "mcp-ts interop: ok") {
		t.Fatalf("node interop.mjs: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
