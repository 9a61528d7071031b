// Package telemetry is what every TaskFlow function reports about itself:
// Prometheus metrics at /metrics, OpenTelemetry traces whose W3C context
// travels from the HTTP request through the outbox and Kafka (the
// CloudEvents distributed tracing extension) to every consumer, and the
// trace id in every log line written with a context.
package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// latency buckets, in seconds: a millisecond to ten seconds.
var latency = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// The metrics. Each function is its own process (and Knative pod), so the
// scrape's job and pod labels say which function reports them.
var (
	HTTPDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "taskflow_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern, method and status.",
		Buckets: latency,
	}, []string{"route", "method", "status"})

	Published = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "taskflow_events_published_total",
		Help: "Events the relay published to Kafka and removed from the outbox, by topic and type.",
	}, []string{"topic", "type"})
	PublishFailures = promauto.NewCounter(prometheus.CounterOpts{
		Name: "taskflow_relay_publish_failures_total",
		Help: "Batches the relay could not publish; it retries them with backoff.",
	})
	OutboxBacklog = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "taskflow_outbox_backlog",
		Help: "Events committed but not yet in Kafka.",
	})
	OutboxOldest = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "taskflow_outbox_oldest_age_seconds",
		Help: "Age of the oldest event still in the outbox (0 when empty).",
	})

	Consumed = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "taskflow_events_consumed_total",
		Help: "CloudEvents a consumer answered, by type and result: ok (2xx), refused (4xx, never retried), retry (5xx or 429: the sender retries).",
	}, []string{"type", "result"})
	Retried = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "taskflow_events_retried_total",
		Help: "CloudEvents answered with a retryable status, so that the Trigger delivers them again.",
	}, []string{"type"})
	Duplicates = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "taskflow_events_duplicates_total",
		Help: "Redelivered events a consumer had already processed and skipped.",
	}, []string{"consumer"})
	DeadLettered = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "taskflow_events_dead_lettered_total",
		Help: "Events stored by the dead-letter sink after their retries ran out, by type.",
	}, []string{"type"})
	EventAge = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "taskflow_event_age_seconds",
		Help:    "Time from an event's commit (its CloudEvent time) to its handling by a consumer: end-to-end consumer lag.",
		Buckets: latency,
	}, []string{"type"})
	ConsumerLag = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "taskflow_kafka_consumer_lag",
		Help: "Records a KafkaSource's consumer group has yet to deliver, by source and topic (local broker).",
	}, []string{"source", "topic"})
	GivenUp = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "taskflow_broker_events_given_up_total",
		Help: "Events the local Broker gave up on and committed without any delivery (logged each), by trigger and reason: dead_letter_failed (the subscriber and then the dead-letter sink refused or failed), no_dead_letter (the subscriber failed and the trigger has no sink), not_a_cloudevent (a record that does not decode; no trigger).",
	}, []string{"trigger", "reason"})

	ReminderLateness = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "taskflow_reminder_lateness_seconds",
		Help:    "Time from a reminder's remind_at to its firing by the reminder function.",
		Buckets: latency,
	})
	ReconcilerRepairs = promauto.NewCounter(prometheus.CounterOpts{
		Name: "taskflow_reminder_reconciler_repairs_total",
		Help: "Dapr jobs the reconciler found missing and scheduled again.",
	})
)

// Handler serves the metrics in Prometheus' text format.
func Handler() http.Handler { return promhttp.Handler() }

// ObserveHTTP records one answered request.
func ObserveHTTP(route, method string, status int, d time.Duration) {
	HTTPDuration.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// ObserveConsumed records a consumer's answer to one CloudEvent.
func ObserveConsumed(typ string, status int, age time.Duration) {
	result := "ok"
	switch {
	case status >= 500 || status == http.StatusTooManyRequests:
		result = "retry"
		Retried.WithLabelValues(typ).Inc()
	case status >= 400:
		result = "refused"
	}
	Consumed.WithLabelValues(typ, result).Inc()
	if age > 0 {
		EventAge.WithLabelValues(typ).Observe(age.Seconds())
	}
}
