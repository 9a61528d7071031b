package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/fn"
	"github.com/taskflow/taskflow/pkg/ical"
	"github.com/taskflow/taskflow/pkg/store"
)

// Calendar feed: a secret URL per user serving their active tasks as
// iCalendar VTODOs, for calendar apps to subscribe to.
const (
	// FeedSecretBytes is the length of a feed's secret: 256 random bits,
	// written as 43 base64url characters.
	FeedSecretBytes = 32
	// FeedName is the calendar's X-WR-CALNAME, the name apps show.
	FeedName = "TaskFlow"
	// feedFormat names the encoding of the feed's body: a change of it
	// changes every ETag, so that no client keeps a body encoded otherwise.
	feedFormat = "ical-1"
)

// Calendar serves the calendar feed's routes:
//   - POST /api/calendar/feed creates the user's feed (201) or rotates its
//     secret (200), answering {"url": "<base>/api/calendar/<secret>.ics"}
//     (base: TASKFLOW_BASE_URL, else the request's origin); a rotated-away
//     URL answers 404 at once. Only the secret's SHA-256 is stored.
//   - DELETE /api/calendar/feed revokes it: 204, also when there was none.
//   - GET /api/calendar/{secret}.ics takes no credentials (the secret is
//     one): the user's active tasks as text/calendar (RFC 5545; pkg/ical),
//     with an ETag that a poll's If-None-Match turns into a 304 without
//     reading a task; 404 for an unknown, rotated or revoked secret.
func Calendar(d *fn.Deps) []fn.Route {
	return []fn.Route{
		route(http.MethodPost, "/api/calendar/feed", func(w http.ResponseWriter, r *http.Request, user string) error {
			raw := make([]byte, FeedSecretBytes)
			if _, err := rand.Read(raw); err != nil {
				return fmt.Errorf("calendar feed secret: %w", err)
			}
			secret := base64.RawURLEncoding.EncodeToString(raw)
			hash := sha256.Sum256(raw)
			created, err := d.Store.SetCalendarFeed(r.Context(), user, hash[:], d.Now())
			if err != nil {
				return err
			}
			status := http.StatusOK
			if created {
				status = http.StatusCreated
			}
			url := d.Auth.BaseURLFor(r) + "/api/calendar/" + secret + ".ics"
			return fn.WriteJSON(w, status, map[string]string{"url": url})
		}),
		route(http.MethodDelete, "/api/calendar/feed", func(w http.ResponseWriter, r *http.Request, user string) error {
			if err := d.Store.DeleteCalendarFeed(r.Context(), user); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}),
		{Method: http.MethodGet, Pattern: "/api/calendar/{file}", Public: true, Handle: func(w http.ResponseWriter, r *http.Request, _ string) error {
			return serveFeed(d, w, r)
		}},
	}
}

// feedHash is the stored hash of the secret in a feed's file name
// "<secret>.ics"; ok is false for a name no feed can have.
func feedHash(file string) ([]byte, bool) {
	secret, ok := strings.CutSuffix(file, ".ics")
	if !ok || len(secret) != base64.RawURLEncoding.EncodedLen(FeedSecretBytes) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(raw) != FeedSecretBytes {
		return nil, false
	}
	h := sha256.Sum256(raw)
	return h[:], true
}

func serveFeed(d *fn.Deps, w http.ResponseWriter, r *http.Request) error {
	hash, ok := feedHash(r.PathValue("file"))
	if !ok {
		return errs.ErrNotFound
	}
	st, err := d.Store.CalendarFeed(r.Context(), hash)
	if err != nil {
		return err
	}
	now := d.Now()
	etag := feedETag(st, now.Year())
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "private, no-cache")
	if noneMatch(r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Content-Disposition", `inline; filename="taskflow.ics"`)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	cw := &countingWriter{w: w}
	out := ical.NewWriter(cw, FeedName, st.Zones, st.Anchors, now)
	err = d.Store.EachActiveTask(r.Context(), st.User, out.Task)
	if err == nil {
		err = out.Close()
	}
	if err != nil && cw.n > 0 {
		// Part of the calendar is sent: cut the response off (no last
		// chunk) rather than let an app take a partial calendar as whole.
		d.Log.ErrorContext(r.Context(), "calendar feed cut off", "error", err, "bytes", cw.n)
		panic(http.ErrAbortHandler)
	}
	if err != nil {
		for _, k := range []string{"ETag", "Content-Disposition", "Cache-Control"} {
			h.Del(k)
		}
	}
	return err
}

// feedETag is a strong entity tag of the feed's body: the body is a
// function of the user's active tasks (their number, latest update and
// versions), their zones and series starts, and the year (the VTIMEZONEs
// list transitions up to the year after it).
func feedETag(st store.FeedState, year int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%d|%d|%d|%q|%d|%d", feedFormat, st.Active,
		st.LastUpdated.UnixNano(), st.Versions, st.Zones, st.Anchors.UnixNano(), year))
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// countingWriter counts the bytes that reached the response.
type countingWriter struct {
	w http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// noneMatch reports whether an If-None-Match header (its values) names etag,
// by the weak comparison RFC 9110 §13.1.2 prescribes, or is "*".
func noneMatch(values []string, etag string) bool {
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || tag == etag {
				return true
			}
		}
	}
	return false
}
