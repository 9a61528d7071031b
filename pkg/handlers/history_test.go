package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/pkg/consumers"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

// TestHistoryWho: a change made through the REST API is told in the history
// as the function's source and actor "user", one by MCP as "agent"; an entry
// recorded before sources were kept has both null, and every entry still
// has all the fields it had before.
func TestHistoryWho(t *testing.T) {
	st, url := storetest.New(t)
	h, d := serveEvery(t, st)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a := &api{t: t, srv: srv, db: url}
	audit := consumers.Audit(d)
	// deliverAudit delivers the outbox's events to the audit consumer, as the relay
	// and the broker would; it is idempotent, so every event every time.
	deliverAudit := func() {
		t.Helper()
		pending, err := st.Unsent(context.Background(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pending {
			ce, err := kafka.CloudEvent(p.Event)
			if err != nil {
				t.Fatal(err)
			}
			if err := audit[ce.Type()](context.Background(), ce); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Each function's store names it as the source of what it writes.
	st.Source = events.Source("create")
	id := a.create("alice", `{"title":"who did this"}`)["id"].(string)
	st.Source = events.Source("update")
	if r := a.do("PATCH", "/api/tasks/"+id, "alice", `{"priority":"high"}`); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	deliverAudit()
	// An agent's change arrives as MCP's event.
	if _, err := st.RecordAudit(context.Background(), "alice", id, store.AuditEntry{EventID: "by-agent",
		Type: events.TaskUpdated, Time: time.Now().Add(time.Minute).UTC(), Source: ptr(events.Source("mcp"))}); err != nil {
		t.Fatal(err)
	}
	// Recorded before sources were kept: no source.
	if _, err := st.RecordAudit(context.Background(), "alice", id, store.AuditEntry{EventID: "old",
		Type: events.TaskUpdated, Time: time.Now().Add(2 * time.Minute).UTC(),
		Changes: map[string]events.Change{"title": {From: json.RawMessage(`"a"`), To: json.RawMessage(`"b"`)}}}); err != nil {
		t.Fatal(err)
	}

	r := a.do("GET", "/api/tasks/"+id+"/history", "alice", "")
	if r.Status != http.StatusOK {
		t.Fatalf("history: %d %s", r.Status, r.Body)
	}
	var body struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	want := []struct{ typ, source, actor string }{
		{events.TaskCreated, `"/taskflow/create"`, `"user"`},
		{events.TaskUpdated, `"/taskflow/update"`, `"user"`},
		{events.TaskUpdated, `"/taskflow/mcp"`, `"agent"`},
		{events.TaskUpdated, `null`, `null`},
	}
	if len(body.Items) != len(want) {
		t.Fatalf("%d entries: %s", len(body.Items), r.Body)
	}
	for i, w := range want {
		it := body.Items[i]
		if string(it["type"]) != `"`+w.typ+`"` || string(it["source"]) != w.source || string(it["actor"]) != w.actor {
			t.Errorf("entry %d: type %s source %s actor %s, want %s %s %s", i, it["type"], it["source"], it["actor"],
				w.typ, w.source, w.actor)
		}
		for _, f := range []string{"event_id", "type", "time", "changes", "source", "actor"} {
			if _, ok := it[f]; !ok {
				t.Errorf("entry %d lacks %q: %s", i, f, r.Body)
			}
		}
	}
	if c := string(body.Items[1]["changes"]); !strings.Contains(c, `"priority":{"from":"medium","to":"high"}`) {
		t.Errorf("update changes %s", c)
	}
	if c := string(body.Items[3]["changes"]); c != `{"title":{"from":"a","to":"b"}}` {
		t.Errorf("old entry's changes %s", c)
	}
}

func ptr[T any](v T) *T { return &v }
