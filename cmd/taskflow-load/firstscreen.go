package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"
)

// firstScreen are the requests the web app makes for its first screen, in
// the order it makes them (pkg/web/static/js): the page, the session, the
// first page of tasks in the default view, the tags for the filters and
// the notifications for the unread count. The assets are cached after the
// first visit (their paths name the build), so they are not counted.
var firstScreen = []string{"/", "/api/auth/get-session", "/api/tasks?limit=50", "/api/tags", "/api/notifications?limit=50"}

// firstScreens measures the server time of the web app's first screen for
// o.user: the sum of the firstScreen requests' times, each sent when the
// one before has answered, o.requests times.
func firstScreens(ctx context.Context, o options) error {
	a, err := newAPI(o)
	if err != nil {
		return err
	}
	p := pool{Clients: o.clients, Requests: o.requests, Duration: 10 * time.Minute, Seed: o.seed}
	res, err := p.run(ctx, func(ctx context.Context, _ int, _ *rand.Rand) (time.Duration, error) {
		var total time.Duration
		for _, path := range firstScreen {
			d, _, err := a.expect(ctx, http.StatusOK, http.MethodGet, path, "")
			if err != nil {
				return 0, err
			}
			total += d
		}
		return total, nil
	})
	if err != nil {
		return err
	}
	res.report(o.out, "firstscreen", o.clients)
	return nil
}
