// Package betterauth runs Better Auth's own client library (interop.mjs,
// npm package better-auth) against TaskFlow's accounts and API functions.
// Only this test needs Node.js; nothing of TaskFlow does.
package betterauth

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/taskflow/taskflow/interop/nodetest"
	"github.com/taskflow/taskflow/pkg/accounts"
	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/handlers"
	"github.com/taskflow/taskflow/pkg/store/storetest"
)

const secret = "interop-test-secret-of-at-least-32-bytes"

// serve starts a function in process and returns its base URL.
func serve[C fn.Settings](t *testing.T, ctx context.Context, name string, cfg C, build fn.Constructor[C]) *url.URL {
	t.Helper()
	addr := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- fn.Serve(ctx, name, cfg, build, func(a net.Addr) { addr <- a }) }()
	select {
	case a := <-addr:
		u, _ := url.Parse("http://" + a.String())
		return u
	case err := <-errc:
		t.Fatalf("%s: %v", name, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start", name)
	}
	return nil
}

func TestBetterAuthClient(t *testing.T) {
	nodetest.Require(t, "Better Auth")
	dbURL := storetest.NewURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The front is the gateway's routing in small: /api/auth/ to accounts,
	// /api/tasks to the API function. Its URL is TaskFlow's base URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	authCfg := auth.Config{Secret: secret, BaseURL: base}

	acfg := &accounts.Config{Base: fn.Base{Host: "127.0.0.1", LogLevel: "warn"},
		Database: fn.Database{DatabaseURL: dbURL, MaxConns: 4}, Auth: fn.Auth{Config: authCfg},
		SessionTTL: time.Hour, TokenTTL: 15 * time.Minute, KeyRotation: 720 * time.Hour, AccountLimit: 10,
		AddressLimit: 50, SignUpLimit: 20, LimitWindow: 15 * time.Minute, ProxyHops: 1,
		HashMemoryKiB: accounts.DefaultMemoryKiB, HashIterations: accounts.DefaultIterations}
	accountsURL := serve(t, ctx, "accounts", acfg, accounts.Function)

	// The API function trusts TaskFlow's tokens only through the accounts JWKS.
	apiAuth := auth.Config{JWKSURL: base + "=" + accountsURL.String() + "/api/auth/jwks", BaseURL: base}
	api := serve(t, ctx, "api", &fn.APIConfig{Base: fn.Base{Host: "127.0.0.1", LogLevel: "warn"},
		Database: fn.Database{DatabaseURL: dbURL, MaxConns: 4}, Auth: fn.Auth{Config: apiAuth}},
		func(_ context.Context, _ *fn.APIConfig, d *fn.Deps) (*fn.Function, error) {
			return &fn.Function{Routes: append(handlers.Create(d), handlers.List(d)...)}, nil
		})
	toAccounts, toAPI := httputil.NewSingleHostReverseProxy(accountsURL), httputil.NewSingleHostReverseProxy(api)
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/auth/") {
			toAccounts.ServeHTTP(w, r)
			return
		}
		toAPI.ServeHTTP(w, r)
	}))
	front.Listener.Close()
	front.Listener = ln // the base URL the functions were given
	front.Start()
	defer front.Close()

	t.Logf("%s", nodetest.Run(t, ctx, "interop.mjs", "better-auth interop: ok", "TASKFLOW_URL="+base))
}
