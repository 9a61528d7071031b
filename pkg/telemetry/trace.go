package telemetry

import (
	"context"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// Config is the standard OpenTelemetry settings TaskFlow honours. The
// exporter and the SDK read them from the environment themselves; they are
// declared here so that every function's settings list them.
type Config struct {
	Endpoint       string `envconfig:"OTEL_EXPORTER_OTLP_ENDPOINT" desc:"OTLP/HTTP collector base URL; traces are exported when it or the next is set"`
	TracesEndpoint string `envconfig:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" desc:"OTLP/HTTP URL for traces only"`
	Sampler        string `envconfig:"OTEL_TRACES_SAMPLER" desc:"OpenTelemetry sampler name; default parentbased_always_on"`
	SamplerArg     string `envconfig:"OTEL_TRACES_SAMPLER_ARG" desc:"the sampler's argument (a ratio for traceidratio samplers)"`
}

// propagator is W3C Trace Context, on HTTP headers and on CloudEvents alike.
var propagator = propagation.TraceContext{}

// Setup installs the process's tracer provider and W3C propagator. Every
// request and event gets a trace id (in its logs and events) whether or not
// spans are exported; they are exported over OTLP/HTTP when the standard
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set,
// sampled as OTEL_TRACES_SAMPLER says (parent-based, always on by default).
// The returned function flushes what is left to export.
func Setup(ctx context.Context, service string, cfg Config) (func(context.Context) error, error) {
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("taskflow-" + service))),
	}
	if cfg.Endpoint != "" || cfg.TracesEndpoint != "" {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagator)
	return tp.Shutdown, nil
}

// Tracer is TaskFlow's tracer (from the provider Setup installed).
func Tracer() trace.Tracer { return otel.Tracer("github.com/taskflow/taskflow") }

// HTTP wraps a function's handler: a server span per request, continuing the
// caller's traceparent header when there is one. The span is named by the
// method until the route is known (fn.SetRoute names it by its pattern):
// raw paths, ids and all, would make every span name unique.
func HTTP(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "http", otelhttp.WithPropagators(propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }))
}

// TraceParent renders ctx's span as the traceparent and tracestate values of
// W3C Trace Context ("" when ctx carries no trace).
func TraceParent(ctx context.Context) (traceparent, tracestate string) {
	c := propagation.MapCarrier{}
	propagator.Inject(ctx, c)
	return c["traceparent"], c["tracestate"]
}

// WithTraceParent returns ctx continuing the trace that traceparent names
// (as a remote parent); ctx unchanged when it is empty or malformed.
func WithTraceParent(ctx context.Context, traceparent, tracestate string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagator.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent, "tracestate": tracestate})
}

// TraceID is ctx's trace id in hex ("" when there is none).
func TraceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
}

// LogHandler adds trace_id and span_id to every record logged with a context
// that carries a span, so that logs and traces join.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(a []slog.Attr) slog.Handler { return logHandler{l.Handler.WithAttrs(a)} }
func (l logHandler) WithGroup(n string) slog.Handler      { return logHandler{l.Handler.WithGroup(n)} }
