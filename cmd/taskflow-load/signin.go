package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// signIns measures sign-in through the gateway (POST
// /api/auth/sign-in/email, which checks an argon2id hash): one account is
// signed up, then signed in o.requests times by o.clients clients. The
// stack's sign-in limits must allow that many attempts from one address
// (TASKFLOW_SIGNIN_ADDRESS_LIMIT).
func signIns(ctx context.Context, o options) error {
	c := client(o)
	email := fmt.Sprintf("load-%d@example.com", time.Now().UnixNano())
	const password = "load tool password 2031"
	post := func(ctx context.Context, path, body string) (time.Duration, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.api+path, bytes.NewBufferString(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", o.api)
		t0 := time.Now()
		res, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("POST %s answered %d: %.200s", path, res.StatusCode, b)
		}
		return time.Since(t0), nil
	}
	if _, err := post(ctx, "/api/auth/sign-up/email", fmt.Sprintf(`{"name":"Load","email":%q,"password":%q}`, email, password)); err != nil {
		return err
	}
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)
	p := pool{Clients: o.clients, Requests: o.requests, Duration: 10 * time.Minute, Seed: o.seed}
	res, err := p.run(ctx, func(ctx context.Context, _ int, _ *rand.Rand) (time.Duration, error) {
		return post(ctx, "/api/auth/sign-in/email", body)
	})
	if err != nil {
		return err
	}
	res.report(o.out, "signin", o.clients)
	return nil
}
