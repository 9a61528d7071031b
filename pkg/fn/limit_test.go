package fn

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
)

// TestChunkedCloudEventOverTheLimitIs413: a body over MaxBody sent without a
// Content-Length stops inside the CloudEvents SDK, which reports a parse
// error; the answer must still be 413, in both content modes, and the
// handler must not run.
func TestChunkedCloudEventOverTheLimitIs413(t *testing.T) {
	ran := false
	h := LimitBody(Events(slog.New(slog.NewTextHandler(io.Discard, nil)), map[string]EventHandler{
		"dev.taskflow.test": func(context.Context, cloudevents.Event) error { ran = true; return nil },
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	big := strings.Repeat("x", MaxBody+1)
	for _, c := range []struct {
		name, contentType, body string
		headers                 map[string]string
	}{
		{"structured", "application/cloudevents+json",
			`{"specversion":"1.0","id":"1","source":"/t","type":"dev.taskflow.test","data":"` + big + `"}`, nil},
		{"binary", "application/json", `"` + big + `"`,
			map[string]string{"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/t", "ce-type": "dev.taskflow.test"}},
	} {
		// io.MultiReader hides the length, so the client sends it chunked.
		req, _ := http.NewRequest(http.MethodPost, srv.URL, io.MultiReader(strings.NewReader(c.body)))
		req.Header.Set("Content-Type", c.contentType)
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		res.Body.Close()
		if req.ContentLength > 0 {
			t.Fatalf("%s: the request was not sent chunked", c.name)
		}
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: %d, want 413", c.name, res.StatusCode)
		}
	}
	if ran {
		t.Error("the handler ran for an event over the limit")
	}
}
