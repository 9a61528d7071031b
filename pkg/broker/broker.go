package broker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	tfkafka "github.com/taskflow/taskflow/pkg/kafka"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
)

// Broker runs the KafkaSources, the Broker ingress and the Trigger dispatch.
type Broker struct {
	Manifests Manifests
	Brokers   []string
	// Client adds options to every Kafka client (TLS and SASL: kafka.Auth.Opts).
	Client  []kgo.Opt
	Resolve Resolver
	Log     *slog.Logger
	// IngressAddr is where CloudEvents may be posted ("" for no ingress).
	IngressAddr string
	// Listening, if set, receives the ingress address once it listens.
	Listening func(net.Addr)
}

// Run consumes every source and serves the ingress until ctx ends.
func (b *Broker) Run(ctx context.Context) error {
	d, err := NewDispatcher(b.Manifests.Triggers, b.Resolve, b.Log)
	if err != nil {
		return err
	}
	producer, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Brokers...), kgo.AllowAutoTopicCreation(),
		kgo.RequiredAcks(kgo.AllISRAcks())}, b.Client...)...)
	if err != nil {
		return err
	}
	defer producer.Close()
	var wg sync.WaitGroup
	errc := make(chan error, len(b.Manifests.Sources)+2)
	for _, src := range append(b.Manifests.Sources, ingressSource) {
		wg.Go(func() { errc <- consume(ctx, b.Brokers, b.Client, src, d, b.Log) })
	}
	if b.IngressAddr != "" {
		srv := &fn.Server{Name: "broker-ingress", Addr: b.IngressAddr, Handler: Ingress(producer, b.Log),
			Log: b.Log, Listening: b.Listening, Ready: producer.Ping}
		wg.Go(func() { errc <- srv.Run(ctx) })
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	return nil
}

// Ingress accepts CloudEvents in binary or structured mode (400 for anything
// else) and stores them in IngressTopic before answering 202.
func Ingress(producer *kgo.Client, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			fn.WriteJSON(w, http.StatusMethodNotAllowed, fn.ErrorBody{Error: fn.ErrorDetail{Code: "method_not_allowed", Message: "POST CloudEvents here"}})
			return
		}
		if r.URL.Path != "/" && r.URL.Path != "/taskflow/taskflow" {
			fn.WriteError(w, r, log, errs.ErrNotFound)
			return
		}
		e, err := fn.ReadCloudEvent(r)
		if err != nil {
			fn.WriteError(w, r, log, err)
			return
		}
		rec, err := tfkafka.ToRecord(r.Context(), IngressTopic, *e)
		if err != nil {
			fn.WriteError(w, r, log, errs.Invalidf("cannot encode the event: "+err.Error()))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := producer.ProduceSync(ctx, rec).FirstErr(); err != nil {
			fn.WriteError(w, r, log, errors.Join(errs.ErrUnavailable, err))
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}
