package fn

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestReadinessWarnsOncePerOutage: a function still waiting for its
// dependencies at start is probed many times (the local stack polls every
// 20 ms) and must not print a warning for each probe; a function that was
// ready and stops being ready warns once, not once per probe.
func TestReadinessWarnsOncePerOutage(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var healthy atomic.Bool
	ready := func(context.Context) error {
		if !healthy.Load() {
			return errors.New("kafka not connected")
		}
		return nil
	}
	addr := make(chan net.Addr, 1)
	ctx, cancel := context.WithCancel(context.Background())
	srv := &Server{Name: "t", Addr: "127.0.0.1:0", Handler: http.NotFoundHandler(), Ready: ready, Log: log,
		Listening: func(a net.Addr) { addr <- a }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(ctx) }()
	base := "http://" + (<-addr).String()
	probe := func(want int) {
		t.Helper()
		res, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("/readyz: %d, want %d", res.StatusCode, want)
		}
	}
	for range 20 {
		probe(http.StatusServiceUnavailable)
	}
	if n := strings.Count(buf.String(), "not ready"); n != 0 {
		t.Errorf("%d warnings before the function was ever ready, want 0:\n%s", n, buf.String())
	}
	healthy.Store(true)
	probe(http.StatusOK)
	healthy.Store(false)
	for range 20 {
		probe(http.StatusServiceUnavailable)
	}
	if n := strings.Count(buf.String(), "not ready"); n != 1 {
		t.Errorf("%d warnings for one outage, want 1:\n%s", n, buf.String())
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
