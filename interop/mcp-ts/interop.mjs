// The TypeScript MCP SDK's own client against a running TaskFlow: connect to
// /mcp over Streamable HTTP with a bearer token, list the tools, then
// add_task, list_tasks and complete_task. The client validates every
// structured result against the tool's output schema. TASKFLOW_URL is
// TaskFlow's base URL, TASKFLOW_TOKEN a user's token.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import assert from "node:assert/strict";

const base = process.env.TASKFLOW_URL;
const token = process.env.TASKFLOW_TOKEN;
assert.ok(base && token, "set TASKFLOW_URL and TASKFLOW_TOKEN");

const transport = new StreamableHTTPClientTransport(new URL("/mcp", base), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "taskflow-interop", version: "1.0.0" });
await client.connect(transport);
assert.equal(client.getServerVersion().name, "taskflow");

const { tools } = await client.listTools();
const names = tools.map((t) => t.name).sort();
for (const want of ["add_task", "add_tasks", "list_tasks", "search_tasks", "get_task", "update_task", "complete_task",
  "reopen_task", "delete_task", "list_tags", "task_history", "list_notifications", "preview_recurrence"]) {
  assert.ok(names.includes(want), `no tool ${want}`);
}
for (const t of tools) {
  assert.ok(t.outputSchema, `${t.name} has no output schema`);
  assert.equal(typeof t.annotations?.readOnlyHint, "boolean", `${t.name} has no readOnlyHint`);
}

const added = await client.callTool({ name: "add_task", arguments: {
  title: "Interop review", priority: "high", tags: ["interop"], due_date: "2031-05-04T07:00:00Z",
  recurrence_pattern: { frequency: "weekly", timezone: "Europe/Berlin" }, idempotency_key: "interop-1" } });
assert.ok(!added.isError, JSON.stringify(added));
const task = added.structuredContent;
assert.equal(task.title, "Interop review");
assert.deepEqual(task.due_date_local, { local: "2031-05-04T09:00:00", weekday: "Sunday", offset: "+02:00", timezone: "Europe/Berlin" });

const listed = await client.callTool({ name: "list_tasks", arguments: { tags: ["interop"], sort: "due_date" } });
assert.ok(!listed.isError, JSON.stringify(listed));
assert.deepEqual(listed.structuredContent.items.map((t) => t.id), [task.id]);

const done = await client.callTool({ name: "complete_task", arguments: { task_id: task.id } });
assert.ok(!done.isError, JSON.stringify(done));
assert.equal(done.structuredContent.task.status, "completed");
assert.equal(done.structuredContent.next_due_date, "2031-05-11T07:00:00Z");

// A user's mistake is a tool error carrying the API's error body, which the
// client accepts although the tool has an output schema.
const bad = await client.callTool({ name: "get_task", arguments: { task_id: "0193f0c2-0000-7000-8000-000000000000" } });
assert.equal(bad.isError, true);
assert.equal(JSON.parse(bad.content[0].text).error.code, "not_found");
const invalid = await client.callTool({ name: "add_task", arguments: { title: "", priority: "huge" } });
assert.equal(invalid.isError, true);
assert.deepEqual(Object.keys(JSON.parse(invalid.content[0].text).error.fields).sort(), ["priority", "title"]);

await client.close();
console.log("mcp-ts interop: ok");
