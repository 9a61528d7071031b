package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// Auth is how TaskFlow's own Kafka clients (the relay, the live stream, the
// local Broker)
// reach a cluster that wants TLS, SASL or both, as managed Kafka services do.
// The zero value is plaintext without authentication (the embedded broker,
// Strimzi's internal listener).
type Auth struct {
	TLS bool `envconfig:"KAFKA_TLS" desc:"connect to Kafka over TLS"`
	// CAFile is a PEM bundle to trust instead of the system's roots.
	CAFile string `envconfig:"KAFKA_TLS_CA_FILE" desc:"PEM bundle of the CAs to trust instead of the system's"`
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty: no SASL.
	Mechanism string `envconfig:"KAFKA_SASL_MECHANISM" desc:"PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty: no SASL"`
	Username  string `envconfig:"KAFKA_SASL_USERNAME" desc:"SASL user name"`
	Password  string `envconfig:"KAFKA_SASL_PASSWORD" desc:"SASL password"`
}

// Config is how one of TaskFlow's own Kafka clients (the relay, the live
// stream) reaches the cluster.
type Config struct {
	Brokers []string `envconfig:"KAFKA_BROKERS" required:"true" desc:"Kafka bootstrap servers, host:port, comma-separated"`
	Auth
}

func (a Auth) mechanism() (string, error) {
	m := strings.ToUpper(strings.TrimSpace(a.Mechanism))
	switch m {
	case "":
		return "", nil
	case sarama.SASLTypePlaintext, sarama.SASLTypeSCRAMSHA256, sarama.SASLTypeSCRAMSHA512:
		if a.Username == "" || a.Password == "" {
			return "", fmt.Errorf("KAFKA_SASL_MECHANISM %s needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD", m)
		}
		return m, nil
	}
	return "", fmt.Errorf("KAFKA_SASL_MECHANISM %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", a.Mechanism)
}

func (a Auth) tlsConfig() (*tls.Config, error) {
	if !a.TLS && a.CAFile == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.CAFile != "" {
		pem, err := os.ReadFile(a.CAFile)
		if err != nil {
			return nil, fmt.Errorf("KAFKA_TLS_CA_FILE: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("KAFKA_TLS_CA_FILE %s holds no PEM certificate", a.CAFile)
		}
	}
	return c, nil
}

// Sarama applies a to a sarama configuration (a producer's or a reader's):
// an error for an unknown mechanism, a mechanism without its user name and
// password, or a CA file that cannot be read or holds no certificate.
func (a Auth) Sarama(c *sarama.Config) error {
	m, err := a.mechanism()
	if err != nil {
		return err
	}
	tc, err := a.tlsConfig()
	if err != nil {
		return err
	}
	if tc != nil {
		c.Net.TLS.Enable, c.Net.TLS.Config = true, tc
	}
	if m == "" {
		return nil
	}
	c.Net.SASL.Enable, c.Net.SASL.Handshake = true, true
	c.Net.SASL.Mechanism = sarama.SASLMechanism(m)
	c.Net.SASL.User, c.Net.SASL.Password = a.Username, a.Password
	switch m {
	case sarama.SASLTypeSCRAMSHA256:
		c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA256} }
	case sarama.SASLTypeSCRAMSHA512:
		c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA512} }
	}
	return nil
}

// scramClient is sarama's SCRAM conversation, on xdg-go/scram.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (c *scramClient) Begin(user, pass, authzID string) error {
	client, err := c.hash.NewClient(user, pass, authzID)
	if err != nil {
		return err
	}
	c.conv = client.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) { return c.conv.Step(challenge) }
func (c *scramClient) Done() bool                            { return c.conv.Done() }
