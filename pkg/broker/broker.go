package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/IBM/sarama"

	tfkafka "github.com/taskflow/taskflow/pkg/kafka"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
)

// Broker runs the KafkaSources, the Broker ingress and the Trigger dispatch.
type Broker struct {
	Manifests Manifests
	Brokers   []string
	// Auth is TLS and SASL for every Kafka client (the zero value: plaintext).
	Auth    tfkafka.Auth
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
	// One client per source, as each has its own consumer group and long
	// polls, and one for the ingress's producer; tried again until Kafka
	// answers (or ctx ends).
	connect := func(clientID string, cfg *sarama.Config) (sarama.Client, error) {
		if err := b.Auth.Sarama(cfg); err != nil {
			return nil, err
		}
		return tfkafka.Connect(ctx, b.Brokers, cfg, func(err error) {
			b.Log.Warn("connecting to kafka", "client", clientID, "error", err)
		})
	}
	pcfg := tfkafka.ProducerConfig("taskflow-broker-ingress")
	pcfg.Producer.MaxMessageBytes = MaxRecordBytes
	pclient, err := connect("broker-ingress", pcfg)
	if err != nil {
		return ignoreStop(ctx, err)
	}
	defer pclient.Close()
	producer, err := sarama.NewSyncProducerFromClient(pclient)
	if err != nil {
		return err
	}
	defer producer.Close()
	sources := append(b.Manifests.Sources, ingressSource)
	clients := make([]sarama.Client, 0, len(sources))
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for _, src := range sources {
		c, err := connect(src.Name, tfkafka.ConsumerConfig("taskflow-source-"+src.Name))
		if err != nil {
			return ignoreStop(ctx, err)
		}
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(sources)+1)
	for i, src := range sources {
		wg.Go(func() { errc <- consume(ctx, clients[i], src, d, b.Log) })
	}
	if b.IngressAddr != "" {
		ready := func(context.Context) error { return pclient.RefreshMetadata(IngressTopic) }
		srv := &fn.Server{Name: "broker-ingress", Addr: b.IngressAddr, Handler: Ingress(producer, b.Log),
			Log: b.Log, Listening: b.Listening, Ready: ready}
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

// ignoreStop is err, or nil when it only says ctx ended.
func ignoreStop(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// MaxRecordBytes bounds an event posted to the ingress once encoded as a
// Kafka record (headers, key and record overhead included, as sarama's
// ProducerMessage.ByteSize counts it): the ingress's producer takes no
// larger message (its Producer.MaxMessageBytes, also sarama's default),
// which keeps a batch of one within Kafka's and kfake's default
// message.max.bytes (1,048,588), so that an event the ingress accepts can
// always be published.
const MaxRecordBytes = 1_000_000

// Ingress accepts CloudEvents in binary or structured mode (400 for anything
// else; 413 for an event too large to be a Kafka record, MaxRecordBytes, or
// one the cluster refuses as too large) and stores them in IngressTopic
// before answering 202 (503 when Kafka does not take it).
func Ingress(producer sarama.SyncProducer, log *slog.Logger) http.Handler {
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
		pm, err := tfkafka.ProducerMessage(r.Context(), IngressTopic, e)
		if err != nil {
			fn.WriteError(w, r, log, errs.Invalidf("cannot encode the event: "+err.Error()))
			return
		}
		if pm.ByteSize(2) > MaxRecordBytes { // record batches (v2), as Version speaks
			fn.WriteError(w, r, log, errTooLarge)
			return
		}
		_, _, err = producer.SendMessage(pm) // bounded by the producer's timeouts and retries
		switch {
		case tfkafka.ErrTooLarge(err):
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
