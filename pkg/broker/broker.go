package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
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
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerBatchMaxBytes(MaxRecordBytes)}, b.Client...)...)
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

// MaxRecordBytes bounds an event posted to the ingress once encoded as a
// Kafka record batch of one record (headers, key and batch overhead
// included): within what every producer and broker on the way takes by
// default (sarama's Producer.MaxMessageBytes 1,000,000, franz-go's
// ProducerBatchMaxBytes 1,000,012, Kafka's and kfake's message.max.bytes
// 1,048,588), so that an event the ingress accepts can always be published.
const MaxRecordBytes = 1_000_000

// recordBytes is an upper bound of r's size in a record batch of its own:
// the batch header with its length prefix (65 bytes, as franz-go counts
// it), then each varint at its widest.
func recordBytes(r *kgo.Record) int {
	const batchOverhead, varint = 65, 10
	n := batchOverhead + 1 + 5*varint + len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += 2*varint + len(h.Key) + len(h.Value)
	}
	return n
}

// Ingress accepts CloudEvents in binary or structured mode (400 for anything
// else; 413 for an event too large to be a Kafka record, MaxRecordBytes) and
// stores them in IngressTopic before answering 202.
func Ingress(producer *kgo.Client, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			fn.WriteError(w, r, log, errPostHere)
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
		if recordBytes(rec) > MaxRecordBytes {
			fn.WriteError(w, r, log, errTooLarge)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		err = producer.ProduceSync(ctx, rec).FirstErr()
		switch {
		case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
			fn.WriteError(w, r, log, errTooLarge) // a cluster whose max.message.bytes is below the default: retrying cannot help
		case err != nil:
			fn.WriteError(w, r, log, errors.Join(errs.ErrUnavailable, err))
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	})
}

var errPostHere = &errs.Error{Kind: errs.ErrMethodNotAllowed, Public: "POST CloudEvents here"}

var errTooLarge = &errs.TooLarge{Message: fmt.Sprintf(
	"the event exceeds the %d bytes a Kafka record may hold (data, attributes and headers)", MaxRecordBytes)}
