package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/broker"
	"github.com/taskflow/taskflow/pkg/kafka"
	"github.com/taskflow/taskflow/pkg/ports"
	"github.com/taskflow/taskflow/pkg/store"
)

// Config is the local stack's environment (API.md §1).
type Config struct {
	APIAddr     string `envconfig:"TASKFLOW_API_ADDR" default:"127.0.0.1:8080" desc:"where the REST API (the gateway) listens"`
	DatabaseURL string `envconfig:"DATABASE_URL" required:"true" desc:"PostgreSQL URL; the database is created and migrated at start (make run finds or starts a server)"`
	Secrets
	KafkaAddr  string `envconfig:"TASKFLOW_KAFKA_ADDR" default:"127.0.0.1:9092" desc:"where the embedded Kafka broker listens"`
	Brokers    string `envconfig:"KAFKA_BROKERS" desc:"an external Kafka cluster to use instead of the embedded broker"`
	kafka.Auth        // TLS and SASL of the external cluster, for the local Broker (the functions read them too)
	KafkaData  string `envconfig:"TASKFLOW_KAFKA_DATA" default:".cache/kafka" desc:"the embedded broker's data directory"`
	PortBase   int    `envconfig:"TASKFLOW_FUNCTION_PORT_BASE" default:"18100" desc:"first port of the functions' listeners; 0: any free ports"`
	BinDir     string `envconfig:"TASKFLOW_BIN_DIR" default:".cache/bin" desc:"where the built functions are"`
	Manifests  string `envconfig:"TASKFLOW_MANIFESTS" default:"knative" desc:"the Knative manifests the stack reads its Services and KafkaSources from"`
	Triggers   string `envconfig:"TASKFLOW_TRIGGERS" default:"triggers" desc:"the Knative Triggers the local Broker routes by"`
	BrokerAddr string `envconfig:"TASKFLOW_BROKER_ADDR" default:"127.0.0.1:8081" desc:"where the local Broker's ingress listens"`
	DaprBin    string `envconfig:"TASKFLOW_DAPR_BIN" default:".cache/dapr/bin" desc:"directory of the daprd and scheduler binaries (make run builds them)"`
	DaprData   string `envconfig:"TASKFLOW_DAPR_DATA" default:".cache/dapr/run" desc:"the Dapr scheduler's data directory"`
	DaprGRPC   string `envconfig:"DAPR_GRPC_ENDPOINT" desc:"a running Dapr sidecar's gRPC address, instead of starting one"`
	LogLevel   string `envconfig:"LOG_LEVEL" default:"warn" desc:"the functions' log level (each component's log file has every level)"`
	LogDir     string `envconfig:"TASKFLOW_LOG_DIR" default:".cache/logs" desc:"directory of each component's log; empty: every log on the terminal"`
}

// Secrets are the token keys of the local stack and of its dev tokens.
type Secrets struct {
	auth.Config
	// DevSecretFile keeps the HS256 secret made for the stack when none is
	// set, so that dev tokens outlive restarts.
	DevSecretFile string `envconfig:"TASKFLOW_DEV_SECRET_FILE" default:".cache/dev-secret" desc:"where the dev HS256 secret is made once and kept when no secret or JWKS URL is set"`
}

// TokenSecret is the HS256 secret the stack's functions accept: the one set
// (auth.Config.HMACSecret), else none when only a JWKS URL is set, else the
// dev secret kept in DevSecretFile, made on first use (32 random bytes, hex).
func (c Secrets) TokenSecret() (string, error) {
	if s := c.HMACSecret(); s != "" || c.JWKSURL != "" {
		return s, nil
	}
	if b, err := os.ReadFile(c.DevSecretFile); err == nil && len(b) >= auth.MinSecretLen {
		return strings.TrimSpace(string(b)), nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(c.DevSecretFile), 0o755); err != nil {
		return "", err
	}
	return secret, os.WriteFile(c.DevSecretFile, []byte(secret), 0o600)
}

// Stack is a running local stack.
type Stack struct {
	cfg     Config
	secret  string // the HS256 secret in force (Config.TokenSecret)
	brokers string
	dapr    string
	log     *slog.Logger
	out     io.Writer
	logs    *logs
	procs   []*proc

	mu     sync.Mutex
	addrs  map[string]string // function name -> its address
	kafka  *kfake.Cluster    // the embedded broker, when it runs
	daprd  *Dapr             // the sidecar and scheduler the stack started
	byName map[string]*proc
}

// Kill kills function name's process (SIGKILL) and keeps it down for downFor
// before the stack restarts it. Fault drills use it.
func (s *Stack) Kill(name string, downFor time.Duration) error {
	s.mu.Lock()
	p := s.byName[name]
	s.mu.Unlock()
	if p == nil {
		return fmt.Errorf("no function %s", name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.heldUntil = time.Now().Add(downFor)
	return syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// RestartKafka closes the embedded Kafka broker, waits downFor, and starts it
// again on the same address with the same log.
func (s *Stack) RestartKafka(ctx context.Context, downFor time.Duration) error {
	s.mu.Lock()
	c := s.kafka
	s.mu.Unlock()
	if c == nil {
		return fmt.Errorf("the stack runs no embedded Kafka")
	}
	c.Close()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(downFor):
	}
	c, err := kafka.Embedded(s.cfg.KafkaAddr, s.cfg.KafkaData)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.kafka = c
	s.mu.Unlock()
	return nil
}

// RestartDapr kills daprd and the scheduler, waits downFor, and starts them
// again (Dapr.Restart).
func (s *Stack) RestartDapr(ctx context.Context, downFor time.Duration) error {
	s.mu.Lock()
	d := s.daprd
	s.mu.Unlock()
	if d == nil {
		return fmt.Errorf("the stack runs no Dapr of its own")
	}
	return d.Restart(ctx, downFor)
}

// Addr is the address the function name listens on ("" before Run starts it).
func (s *Stack) Addr(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[name]
}

// New prepares a stack; Run starts it.
func New(cfg Config, log *slog.Logger, out io.Writer) *Stack {
	return &Stack{cfg: cfg, log: log, out: out, logs: &logs{dir: cfg.LogDir, out: out}}
}

// Run migrates the database, starts every function and the gateway, prints
// the addresses and a dev token, and stops everything when ctx ends.
func (s *Stack) Run(ctx context.Context) error {
	secret, err := s.cfg.TokenSecret()
	if err != nil {
		return fmt.Errorf("dev secret: %w", err)
	}
	if secret != "" && len(secret) < auth.MinSecretLen {
		return fmt.Errorf("TASKFLOW_AUTH_SECRET must be at least %d bytes", auth.MinSecretLen)
	}
	s.secret = secret
	defer s.logs.close()
	log, err := s.logs.logger(s.log)
	if err != nil {
		return err
	}
	s.log = log
	if err := store.EnsureDatabase(ctx, s.cfg.DatabaseURL); err != nil {
		return err
	}
	if err := store.Migrate(ctx, s.cfg.DatabaseURL); err != nil {
		return err
	}
	services, err := Services(s.cfg.Manifests)
	if err != nil {
		return err
	}
	brokers := s.cfg.Brokers
	if brokers == "" {
		cluster, err := kafka.Embedded(s.cfg.KafkaAddr, s.cfg.KafkaData)
		if err != nil {
			return fmt.Errorf("embedded kafka on %s: %w", s.cfg.KafkaAddr, err)
		}
		s.mu.Lock()
		s.kafka = cluster
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.kafka.Close()
			s.mu.Unlock()
		}()
		brokers = s.cfg.KafkaAddr
	}
	defer s.stop()
	s.brokers = brokers
	var upstreams []string
	var gateway *Service
	addrs := map[string]string{}
	for i, svc := range services {
		addr, err := s.functionAddr(i)
		if err != nil {
			return err
		}
		addrs[svc.Name] = addr
	}
	env := []string{"DATABASE_URL=" + s.cfg.DatabaseURL, "TASKFLOW_AUTH_SECRET=" + s.secret,
		"TASKFLOW_AUTH_JWKS_URL=" + s.jwksURLs(addrs), "TASKFLOW_BASE_URL=" + s.baseURL(),
		"LOG_LEVEL=" + s.cfg.LogLevel, "KAFKA_BROKERS=" + brokers}
	s.mu.Lock()
	s.addrs = addrs
	s.mu.Unlock()
	health := []string{"http://" + s.cfg.BrokerAddr + "/readyz"}
	daprGRPC := s.cfg.DaprGRPC
	if reminder, ok := addrs["reminder"]; ok && daprGRPC == "" {
		_, port, _ := net.SplitHostPort(reminder)
		appPort, _ := strconv.Atoi(port)
		out, err := s.logs.writer("dapr", false)
		if err != nil {
			return err
		}
		d, err := StartDapr(ctx, s.cfg.DaprBin, s.cfg.DaprData, "taskflow-reminder", appPort, out)
		if err != nil {
			return err
		}
		defer d.Stop()
		s.mu.Lock()
		s.daprd = d
		s.mu.Unlock()
		daprGRPC = d.GRPCAddr
		s.dapr = d.GRPCAddr + " (daprd and scheduler, " + s.cfg.DaprBin + ")"
		health = append(health, "http://"+d.HTTPAddr+"/v1.0/healthz")
	}
	for i, svc := range services {
		if svc.Name == "gateway" {
			gateway = &services[i]
			continue
		}
		upstreams = append(upstreams, svc.Name+"=http://"+addrs[svc.Name])
		fenv := env
		if svc.Name == "reminder" {
			fenv = append(append([]string{}, env...), "DAPR_GRPC_ENDPOINT="+daprGRPC)
		}
		if svc.Name == "deadletter" { // the local Broker names subscribers by Service: replays need their URLs
			fenv = append(append([]string{}, env...), "TASKFLOW_REPLAY_SERVICES="+serviceURLs(addrs))
		}
		if err := s.start(ctx, svc, addrs[svc.Name], fenv); err != nil {
			return err
		}
	}
	if gateway == nil {
		return fmt.Errorf("%s has no gateway Service", s.cfg.Manifests)
	}
	brokerErr, err := s.startBroker(ctx, strings.Split(brokers, ","), upstreams)
	if err != nil {
		return err
	}
	genv := append(env, "TASKFLOW_UPSTREAMS="+strings.Join(upstreams, ","),
		"TASKFLOW_HEALTH_URLS="+strings.Join(health, ","))
	if err := s.start(ctx, *gateway, s.cfg.APIAddr, genv); err != nil {
		return err
	}
	if err := waitReady(ctx, "http://"+s.cfg.APIAddr+"/healthz", 30*time.Second); err != nil {
		return err
	}
	s.banner()
	select {
	case <-ctx.Done():
		return nil
	case err := <-brokerErr:
		return fmt.Errorf("local broker: %w", err)
	}
}

// serviceURLs lists each function as name=URL, sorted.
func serviceURLs(addrs map[string]string) string {
	var out []string
	for name, addr := range addrs {
		out = append(out, name+"=http://"+addr)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// jwksURLs are the JWKS every function accepts tokens by: TaskFlow's own
// accounts (when the manifests have it), bound to the base URL its tokens
// name as issuer, and the one configured.
func (s *Stack) jwksURLs(addrs map[string]string) string {
	var urls []string
	if a, ok := addrs["accounts"]; ok {
		urls = append(urls, strings.TrimRight(s.baseURL(), "/")+"=http://"+a+"/api/auth/jwks")
	}
	if s.cfg.JWKSURL != "" {
		urls = append(urls, s.cfg.JWKSURL)
	}
	return strings.Join(urls, ",")
}

// baseURL is the stack's public base URL: the one configured, else the
// REST API's address.
func (s *Stack) baseURL() string {
	if s.cfg.BaseURL != "" {
		return s.cfg.BaseURL
	}
	return "http://" + s.cfg.APIAddr
}

// startBroker runs the KafkaSources, Triggers and Broker ingress of the
// manifests, delivering to the function processes.
func (s *Stack) startBroker(ctx context.Context, brokers, upstreams []string) (<-chan error, error) {
	m, err := broker.Load(s.cfg.Manifests, s.cfg.Triggers)
	if err != nil {
		return nil, err
	}
	urls := map[string]string{}
	for _, u := range upstreams {
		name, url, _ := strings.Cut(u, "=")
		urls[name] = url
	}
	b := &broker.Broker{Manifests: m, Brokers: brokers, Log: s.log, IngressAddr: s.cfg.BrokerAddr,
		Resolve: func(svc string) (string, bool) { u, ok := urls[svc]; return u, ok }}
	if s.cfg.Brokers != "" {
		b.Auth = s.cfg.Auth
	}
	errc := make(chan error, 1)
	go func() { errc <- b.Run(ctx) }()
	if err := waitReady(ctx, "http://"+s.cfg.BrokerAddr+"/readyz", 30*time.Second); err != nil {
		return nil, err
	}
	return errc, nil
}

func (s *Stack) banner() {
	kafka := s.brokers + " (embedded; topics " + strings.Join(kafka.TopicList(), ", ") + ")"
	if s.cfg.Brokers != "" {
		kafka = s.brokers + " (external)"
	}
	dapr := s.dapr
	if dapr == "" {
		dapr = s.cfg.DaprGRPC + " (external sidecar)"
	}
	fmt.Fprintf(s.out, "\nTaskFlow is up.\n  REST API:   http://%s  (GET /healthz)\n  broker:     http://%s  (POST CloudEvents)\n  functions:  %d processes on 127.0.0.1:%d+\n  database:   %s\n  kafka:      %s\n  dapr:       %s\n  metrics:    GET /metrics on the REST API and on every function\n",
		s.cfg.APIAddr, s.cfg.BrokerAddr, len(s.procs)-1, s.cfg.PortBase, redact(s.cfg.DatabaseURL), kafka, dapr)
	if s.cfg.LogDir != "" {
		fmt.Fprintf(s.out, "  logs:       %s/<component>.log (functions, dapr, devstack); only warnings and errors show here\n", s.cfg.LogDir)
	}
	if s.secret != "" {
		tok, err := auth.Sign([]byte(s.secret), "dev-user", time.Now(), 24*time.Hour)
		if err == nil {
			fmt.Fprintf(s.out, "  dev token (user dev-user, 24 h):\n    export TOKEN=%s\n  try: curl -H \"Authorization: Bearer $TOKEN\" http://%s/api/tasks\n", tok, s.cfg.APIAddr)
		}
	}
	fmt.Fprintf(s.out, "Ctrl-C stops everything.\n\n")
}

func redact(u string) string {
	if at := strings.LastIndex(u, "@"); at > 0 {
		if i := strings.Index(u, "://"); i > 0 && i < at {
			if c := strings.Index(u[i+3:at], ":"); c >= 0 {
				return u[:i+3+c] + ":***" + u[at:]
			}
		}
	}
	return u
}

// functionAddr is the i-th function's address: PortBase+i, or a free port
// when PortBase is 0.
func (s *Stack) functionAddr(i int) (string, error) {
	if s.cfg.PortBase != 0 {
		return "127.0.0.1:" + strconv.Itoa(s.cfg.PortBase+i), nil
	}
	return ports.FreeAddr()
}

// proc is one function process, restarted if it dies while the stack runs.
type proc struct {
	name      string
	mu        sync.Mutex
	cmd       *exec.Cmd
	done      chan struct{}
	heldUntil time.Time // Kill: not restarted before then
}

func (s *Stack) start(ctx context.Context, svc Service, addr string, env []string) error {
	bin, err := filepath.Abs(filepath.Join(s.cfg.BinDir, svc.Binary()))
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("function %s is not built (%s): run make build", svc.Name, bin)
	}
	_, port, _ := strings.Cut(addr, ":")
	if port == "" {
		return fmt.Errorf("address %q of %s has no port", addr, svc.Name)
	}
	p := &proc{name: svc.Name, done: make(chan struct{})}
	s.procs = append(s.procs, p)
	s.mu.Lock()
	if s.byName == nil {
		s.byName = map[string]*proc{}
	}
	s.byName[svc.Name] = p
	s.mu.Unlock()
	spawn := func() (*exec.Cmd, error) {
		cmd := exec.Command(bin)
		host, _, _ := strings.Cut(addr, ":")
		cmd.Env = append(os.Environ(), append(env, "PORT="+port, "TASKFLOW_LISTEN_HOST="+host)...)
		out, err := s.logs.writer(svc.Name, true)
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd, cmd.Start()
	}
	cmd, err := spawn()
	if err != nil {
		return fmt.Errorf("start %s: %w", svc.Name, err)
	}
	p.cmd = cmd
	go func() {
		defer close(p.done)
		for {
			p.mu.Lock()
			c := p.cmd
			p.mu.Unlock()
			err := c.Wait()
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("function exited; restarting", "function", svc.Name, "error", err)
			p.mu.Lock()
			wait := max(time.Until(p.heldUntil), time.Second)
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			c, err = spawn()
			if err != nil {
				s.log.Error("restart failed", "function", svc.Name, "error", err)
				return
			}
			p.mu.Lock()
			p.cmd = c
			p.mu.Unlock()
		}
	}()
	return waitReady(ctx, "http://127.0.0.1:"+port+"/readyz", 30*time.Second)
}

// stop sends SIGTERM to every process, waits for them to drain, and kills
// what is still running after 20 s.
func (s *Stack) stop() {
	for _, p := range s.procs {
		p.mu.Lock()
		if p.cmd.Process != nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		}
		p.mu.Unlock()
	}
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	late := false
	for _, p := range s.procs {
		if !late {
			select {
			case <-p.done:
				continue
			case <-deadline.C:
				late = true // and every process still running after it is killed too
			}
		}
		select {
		case <-p.done:
		default:
			p.mu.Lock()
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			p.mu.Unlock()
			s.log.Warn("function did not stop within 20 s; killed", "function", p.name)
		}
	}
}

// waitReady polls url until it answers 200 or limit passes.
func waitReady(ctx context.Context, url string, limit time.Duration) error {
	return waitStatus(ctx, url, http.StatusOK, limit)
}
