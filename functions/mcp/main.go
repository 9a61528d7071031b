// Command mcp is TaskFlow's MCP server for AI agents at /mcp (API.md §8; see
// pkg/mcpserver).
package main

import (
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/mcpserver"
)

func main() { fn.Run("mcp", new(mcpserver.Config), mcpserver.Function) }
