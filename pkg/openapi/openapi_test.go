package openapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/events"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
	"github.com/taskflow/taskflow/pkg/openapi"
	"github.com/taskflow/taskflow/pkg/store"
	"github.com/taskflow/taskflow/pkg/store/storetest"
	"github.com/taskflow/taskflow/pkg/updates"
)

const docURL = "https://taskflow.dev/openapi.json"

type document struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Responses map[string]json.RawMessage `json:"responses"`
	} `json:"components"`
}

var methods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

func load(t *testing.T) (document, []byte) {
	t.Helper()
	raw, err := openapi.JSON()
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	var d document
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", d.OpenAPI)
	}
	return d, raw
}

// operations lists the document's "METHOD /path" pairs.
func (d document) operations() []string {
	var ops []string
	for path, item := range d.Paths {
		for m := range item {
			if slices.Contains(methods, m) {
				ops = append(ops, strings.ToUpper(m)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// TestDocumentedRoutesAreServed: the document names exactly the routes the
// functions serve (each function's own route table, as the gateway routes
// them), plus the document itself.
func TestDocumentedRoutesAreServed(t *testing.T) {
	d, _ := load(t)
	var served []string
	for _, routes := range handlers.Functions {
		for _, r := range routes(nil) {
			served = append(served, r.Method+" "+r.Pattern)
		}
	}
	served = append(served, "GET "+openapi.Path)
	slices.Sort(served)
	if got := d.operations(); !slices.Equal(got, served) {
		t.Errorf("documented operations differ from the served routes\ndocumented: %v\nserved:     %v", got, served)
	}
}

// validator checks response bodies against the schema the document gives
// for their operation and status.
type validator struct {
	t    *testing.T
	doc  document
	mux  *http.ServeMux // one pattern per documented operation
	c    *jsonschema.Compiler
	seen map[string]bool // operations answered with a documented 2xx
}

func newValidator(t *testing.T) *validator {
	d, raw := load(t)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	res, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource(docURL, res); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, op := range d.operations() {
		mux.Handle(op, http.NotFoundHandler())
	}
	return &validator{t: t, doc: d, mux: mux, c: c, seen: map[string]bool{}}
}

// pointer escapes one JSON pointer token, then for the URI fragment.
func pointer(tokens ...string) string {
	var b strings.Builder
	for _, tok := range tokens {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
		b.WriteString("/" + url.PathEscape(tok))
	}
	return b.String()
}

// check validates one answer to method path.
func (v *validator) check(method, path string, status int, contentType string, body []byte) {
	v.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.URL.Path, _ = fn.SplitUserPath(req.URL.Path)
	_, matched := v.mux.Handler(req)
	m, pattern, _ := strings.Cut(matched, " ")
	if m != method {
		v.t.Errorf("%s %s is not in the document", method, path)
		return
	}
	route := fn.Route{Method: m, Pattern: pattern}
	op := route.Method + " " + route.Pattern
	var operation struct {
		Responses map[string]struct {
			Ref     string                     `json:"$ref"`
			Content map[string]json.RawMessage `json:"content"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(v.doc.Paths[route.Pattern][strings.ToLower(method)], &operation); err != nil {
		v.t.Fatal(err)
	}
	code := fmt.Sprint(status)
	resp, ok := operation.Responses[code]
	if !ok {
		v.t.Errorf("%s answered %d, which the document does not list", op, status)
		return
	}
	loc := "#" + pointer("paths", route.Pattern, strings.ToLower(method), "responses", code)
	content := resp.Content
	if resp.Ref != "" {
		name := strings.TrimPrefix(resp.Ref, "#/components/responses/")
		loc = "#" + pointer("components", "responses", name)
		var shared struct {
			Content map[string]json.RawMessage `json:"content"`
		}
		_ = json.Unmarshal(v.doc.Components.Responses[name], &shared)
		content = shared.Content
	}
	if len(content) == 0 {
		if len(body) != 0 {
			v.t.Errorf("%s %d: the document gives no body, got %s", op, status, body)
		}
		v.mark(op, status)
		return
	}
	mt := strings.TrimSpace(strings.Split(contentType, ";")[0])
	if _, ok := content[mt]; !ok {
		v.t.Errorf("%s %d: content type %q is not documented", op, status, contentType)
		return
	}
	if mt != "application/json" {
		v.mark(op, status)
		return
	}
	sch, err := v.c.Compile(docURL + loc + pointer("content", mt, "schema"))
	if err != nil {
		v.t.Fatalf("%s %d: schema: %v", op, status, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		v.t.Errorf("%s %d: body is not JSON: %s", op, status, body)
		return
	}
	if err := sch.Validate(inst); err != nil {
		v.t.Errorf("%s %d: body does not match the document: %v\n%s", op, status, err, body)
		return
	}
	v.mark(op, status)
}

func (v *validator) mark(op string, status int) {
	if status/100 == 2 {
		v.seen[op] = true
	}
}

const secret = "openapi-secret-openapi-secret-openapi!"

// TestResponsesMatchTheDocument drives every operation against the real
// handlers and PostgreSQL, successes and failures, and validates each
// answer's status and body against the document.
func TestResponsesMatchTheDocument(t *testing.T) {
	v := newValidator(t)
	st, _ := storetest.New(t)
	verifier, err := auth.NewVerifier(context.Background(), auth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	routes := append(handlers.Every(&fn.Deps{Store: st, Log: log, Now: time.Now}), updates.New(nil).Routes(nil)...)
	api := fn.LimitBody(fn.API(verifier, log, routes))
	mux := http.NewServeMux()
	mux.Handle(openapi.Path, openapi.Handler())
	mux.Handle("/", api)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tok, _ := auth.Sign([]byte(secret), "olivia", time.Now(), time.Hour)

	do := func(method, path, body string, headers ...string) (int, http.Header, []byte) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, srv.URL+path, rd)
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for _, h := range headers {
			k, val, _ := strings.Cut(h, ": ")
			if val == "" {
				req.Header.Del(k)
			} else {
				req.Header.Set(k, val)
			}
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		v.check(method, path, res.StatusCode, res.Header.Get("Content-Type"), b)
		return res.StatusCode, res.Header, b
	}
	id := func(b []byte) string {
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		s, _ := m["id"].(string)
		return s
	}

	status, _, b := do("POST", "/api/tasks", `{"title":"Weekly review","priority":"high","tags":["work"],
		"due_date":"2027-03-01T09:00:00Z","reminder_time":"2027-03-01T08:45:00Z","is_recurring":true,
		"recurrence_pattern":{"frequency":"weekly","days_of_week":[1],"timezone":"Europe/Berlin"}}`)
	if status != 201 {
		t.Fatalf("create: %d %s", status, b)
	}
	task := id(b)
	do("POST", "/api/tasks", `{"title":"Plain","description":"no dates"}`, "Idempotency-Key: k1")
	do("POST", "/api/tasks", `{"title":"Plain","description":"no dates"}`, "Idempotency-Key: k1")
	do("POST", "/api/tasks", `{"title":"Other"}`, "Idempotency-Key: k1") // 409
	do("POST", "/api/tasks", `{"title":"","priority":"someday","bogus":1}`)
	do("POST", "/api/tasks", `{"title":"x"}`, "Content-Type: text/plain")
	do("POST", "/api/tasks", `{"title":"`+strings.Repeat("x", fn.MaxBody)+`"}`)
	do("POST", "/api/tasks", `{"title":"x"}`, "Authorization: ")
	do("GET", "/api/tasks/"+task, "")
	do("GET", "/api/olivia/tasks/"+task, "")
	do("GET", "/api/tasks/00000000-0000-0000-0000-000000000000", "")
	do("GET", "/api/tasks", "")
	do("GET", "/api/tasks?status=active&priority=high,urgent&tags=work&sort=due_date&order=desc&limit=1", "")
	do("GET", "/api/tasks?sort=colour", "")
	do("GET", "/api/tasks/filter?overdue=true", "")
	do("GET", "/api/tasks/search?q=week", "")
	do("GET", "/api/tasks/search?q=", "")
	do("PUT", "/api/tasks/"+task, `{"title":"Weekly review (team)","priority":"urgent","due_date":"2027-03-01T09:00:00Z",
		"is_recurring":true,"recurrence_pattern":{"rrule":"FREQ=WEEKLY;BYDAY=MO"}}`)
	do("PATCH", "/api/tasks/"+task, `{"description":"agenda first"}`, `If-Match: "v1"`) // 412
	do("PATCH", "/api/tasks/"+task, `{"description":"agenda first"}`)
	do("PATCH", "/api/tasks/"+task, `{"priority":42}`)
	do("PATCH", "/api/tasks/"+task+"/complete", "")
	do("PATCH", "/api/tasks/"+task+"/complete", "")
	do("POST", "/api/tasks/"+task+"/skip", "") // 409: completed
	do("PATCH", "/api/tasks/"+task, `{"status":"active"}`)
	do("POST", "/api/tasks/"+task+"/skip", "")
	do("PATCH", "/api/tasks/"+task, `{"status":"active","recurrence_pattern":{"frequency":"daily","repeat_from":"completion"}}`)
	do("POST", "/api/tasks/"+task+"/end-series", "")
	do("POST", "/api/tasks/"+task+"/end-series", "") // 409: does not recur

	if _, err := st.RecordAudit(context.Background(), "olivia", task, store.AuditEntry{EventID: "e1",
		Type: events.TaskUpdated, Time: time.Now().UTC(),
		Changes: map[string]events.Change{"title": {From: json.RawMessage(`"Weekly review"`), To: json.RawMessage(`"Weekly review (team)"`)}}}); err != nil {
		t.Fatal(err)
	}
	do("GET", "/api/tasks/"+task+"/history", "")
	do("GET", "/api/tags", "")
	do("GET", "/api/settings", "")
	do("PATCH", "/api/settings", `{"timezone":"Europe/Berlin","all_day_reminder_time":"09:00"}`)
	do("PATCH", "/api/settings", `{"timezone":"Local"}`)
	do("POST", "/api/tasks", `{"title":"Pay rent","due_date":"2031-05-04"}`)

	n, _, _, err := st.Notify(context.Background(), events.Notification{UserID: "olivia", TaskID: task,
		Title: "Weekly review", Message: "Reminder: Weekly review", RemindAt: time.Now().UTC(), DeliveredAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	do("GET", "/api/notifications", "")
	do("GET", "/api/notifications?limit=0", "")
	do("PATCH", "/api/notifications/"+n.ID, `{"read":true}`)
	do("PATCH", "/api/notifications/"+n.ID, `{"read":"yes"}`)
	do("POST", "/api/notifications/"+n.ID+"/snooze", `{"minutes":10}`) // 409: its task is completed
	do("PATCH", "/api/tasks/"+task, `{"status":"active"}`)
	do("POST", "/api/notifications/"+n.ID+"/snooze", `{"minutes":10}`)
	do("POST", "/api/notifications/"+n.ID+"/snooze", `{"minutes":0}`)
	do("DELETE", "/api/tasks/"+task, "")
	do("DELETE", "/api/tasks/"+task, "")
	do("POST", "/api/recurrence/preview", `{"due_date":"2031-05-04T07:00:00Z","count":3,
		"recurrence_pattern":{"frequency":"weekly","days_of_week":[3],"timezone":"Europe/Berlin"}}`)
	do("POST", "/api/recurrence/preview", `{"due_date":"2031-05-04T07:00:00Z","recurrence_pattern":{"frequency":"hourly"},"count":0}`)
	do("POST", "/api/recurrence/preview", `{}`, "Content-Type: text/plain")
	do("POST", "/api/recurrence/preview", `{"due_date":"2031-05-04","recurrence_pattern":{"frequency":"daily"},"count":2}`)
	do("GET", openapi.Path, "")
	// The calendar feed: created, rotated, read without credentials, revoked.
	do("POST", "/api/calendar/feed", "")
	_, _, b = do("POST", "/api/calendar/feed", "")
	var feed struct{ URL string }
	_ = json.Unmarshal(b, &feed)
	file := feed.URL[strings.LastIndex(feed.URL, "/")+1:]
	_, fh, _ := do("GET", "/api/calendar/"+file, "", "Authorization: ")
	do("GET", "/api/calendar/"+file, "", "Authorization: ", "If-None-Match: "+fh.Get("ETag"))
	do("DELETE", "/api/calendar/feed", "")
	do("GET", "/api/calendar/"+file, "", "Authorization: ")
	do("POST", "/api/calendar/feed", "", "Authorization: ")

	// The stream's 200 is text/event-stream, checked in pkg/updates; here its refusals.
	do("GET", "/api/updates", "", "Authorization: ")

	for _, op := range v.doc.operations() {
		if !v.seen[op] && op != "GET /api/updates" {
			t.Errorf("%s was never answered with a documented success here", op)
		}
	}
}
