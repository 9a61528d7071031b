package kafka_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/taskflow/taskflow/pkg/kafka"
)

// tlsFiles makes a CA and a certificate for 127.0.0.1 signed by it; it
// returns the server's TLS config and the CA's PEM file.
func tlsFiles(t *testing.T) (*tls.Config, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "taskflow test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kafka"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	caCert, _ := x509.ParseCertificate(caDER)
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, caFile
}

// TestAuthAgainstSASLOverTLS: a producer (the relay's, the ingress's) and a
// reader (the live stream's, the KafkaSources') reach a cluster that wants TLS and SASL with
// each mechanism; a wrong password or an untrusted certificate is refused,
// and a half-configured setting is an error before any connection.
func TestAuthAgainstSASLOverTLS(t *testing.T) {
	serverTLS, caFile := tlsFiles(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "auth-test"), kfake.TLS(serverTLS), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "plain-user", "plain-pass"),
		kfake.Superuser("SCRAM-SHA-256", "scram256", "pass-256"),
		kfake.Superuser("SCRAM-SHA-512", "scram512", "pass-512"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	for _, a := range []kafka.Auth{
		{TLS: true, CAFile: caFile, Mechanism: "PLAIN", Username: "plain-user", Password: "plain-pass"},
		{TLS: true, CAFile: caFile, Mechanism: "SCRAM-SHA-256", Username: "scram256", Password: "pass-256"},
		{TLS: true, CAFile: caFile, Mechanism: "scram-sha-512", Username: "scram512", Password: "pass-512"},
	} {
		cfg := kafka.ProducerConfig("auth-test")
		cfg.Producer.Idempotent, cfg.Producer.RequiredAcks = false, sarama.WaitForLocal
		if err := a.Sarama(cfg); err != nil {
			t.Fatal(err)
		}
		p, err := sarama.NewSyncProducer(brokers, cfg)
		if err != nil {
			t.Fatalf("%s producer: %v", a.Mechanism, err)
		}
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "auth-test", Value: sarama.StringEncoder(a.Mechanism)}); err != nil {
			t.Errorf("%s send: %v", a.Mechanism, err)
		}
		p.Close()
		ccfg := kafka.ConsumerConfig("auth-test")
		if err := a.Sarama(ccfg); err != nil {
			t.Fatal(err)
		}
		cons, err := sarama.NewConsumer(brokers, ccfg)
		if err != nil {
			t.Fatalf("%s reader: %v", a.Mechanism, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		msgs, err := kafka.Read(ctx, cons, "auth-test", map[int32]int64{0: sarama.OffsetOldest}, nil)
		if err != nil {
			t.Fatalf("%s reader: %v", a.Mechanism, err)
		}
		if m := <-msgs; m == nil || string(m.Value) == "" {
			t.Errorf("%s reader: no records", a.Mechanism)
		}
		cancel()
		cons.Close()
	}
	// Refused: a wrong password, and a server certificate the client does not trust.
	for name, a := range map[string]kafka.Auth{
		"wrong password": {TLS: true, CAFile: caFile, Mechanism: "SCRAM-SHA-256", Username: "scram256", Password: "nope"},
		"untrusted CA":   {TLS: true, Mechanism: "PLAIN", Username: "plain-user", Password: "plain-pass"},
	} {
		cfg := kafka.ProducerConfig("auth-test")
		_ = a.Sarama(cfg)
		if p, err := sarama.NewSyncProducer(brokers, cfg); err == nil {
			p.Close()
			t.Errorf("%s: the producer connected", name)
		}
		ccfg := kafka.ConsumerConfig("auth-test")
		_ = a.Sarama(ccfg)
		if c, err := sarama.NewConsumer(brokers, ccfg); err == nil {
			c.Close()
			t.Errorf("%s: the reader connected", name)
		}
	}
	for _, bad := range []kafka.Auth{{Mechanism: "GSSAPI", Username: "u", Password: "p"}, {Mechanism: "PLAIN", Username: "u"},
		{TLS: true, CAFile: "/nonexistent.pem"}} {
		if err := bad.Sarama(kafka.ConsumerConfig("auth-test")); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
