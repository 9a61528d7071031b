package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// TestTraceParentRoundTrip: a traceparent read into a context renders back
// unchanged; garbage and absence leave the context without a trace.
func TestTraceParentRoundTrip(t *testing.T) {
	ctx := WithTraceParent(context.Background(), parent, "vendor=1")
	if tp, ts := TraceParent(ctx); tp != parent || ts != "vendor=1" {
		t.Errorf("round trip: %q %q", tp, ts)
	}
	if TraceID(ctx) != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace id %q", TraceID(ctx))
	}
	for _, bad := range []string{"", "00-zz-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"} {
		if tp, _ := TraceParent(WithTraceParent(context.Background(), bad, "")); tp != "" {
			t.Errorf("%q gave traceparent %q", bad, tp)
		}
	}
}

// TestHTTPContinuesTheCallersTrace: the server span is a child of the
// request's traceparent header, and log lines written in it carry its ids.
func TestHTTPContinuesTheCallersTrace(t *testing.T) {
	if _, err := Setup(context.Background(), "test", Config{}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil)))
	var seen string
	h := HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = TraceParent(r.Context())
		log.InfoContext(r.Context(), "inside")
		log.Info("no context")
	}))
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set("traceparent", parent)
	h.ServeHTTP(httptest.NewRecorder(), req)
	if !strings.HasPrefix(seen, "00-4bf92f3577b34da6a3ce929d0e0e4736-") || seen == parent {
		t.Errorf("server span %q: want the caller's trace in a span of its own", seen)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var first, second map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[1]), &second)
	if first["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || first["span_id"] != strings.Split(seen, "-")[2] {
		t.Errorf("log line in the span: %v", first)
	}
	if _, ok := second["trace_id"]; ok {
		t.Errorf("a line without a context has a trace id: %v", second)
	}
}

// TestObserveConsumedClassifies: 2xx is ok, 4xx refused, 5xx and 429 retry
// (and counted as retried).
func TestObserveConsumedClassifies(t *testing.T) {
	const typ = "dev.taskflow.test.classify"
	for _, status := range []int{202, 400, 422, 429, 500, 503} {
		ObserveConsumed(typ, status, time.Millisecond)
	}
	for result, want := range map[string]float64{"ok": 1, "refused": 2, "retry": 3} {
		if got := testutil.ToFloat64(Consumed.WithLabelValues(typ, result)); got != want {
			t.Errorf("%s: %v, want %v", result, got, want)
		}
	}
	if got := testutil.ToFloat64(Retried.WithLabelValues(typ)); got != 3 {
		t.Errorf("retried %v", got)
	}
}
