package fn

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/taskflow/taskflow/pkg/auth"
	"github.com/taskflow/taskflow/pkg/errs"
	"github.com/taskflow/taskflow/pkg/task"
)

// API serves routes behind bearer-token authentication on a Mux of their
// own (tests and tools; a function's routes are served by Run).
func API(v *auth.Verifier, log *slog.Logger, routes []Route) http.Handler {
	return APIWith(&Authenticator{Tokens: v}, log, routes)
}

// APIWith is API with the session cookies a accepts as well.
func APIWith(a *Authenticator, log *slog.Logger, routes []Route) http.Handler {
	m := NewMux(log)
	m.api(a, log, routes)
	return m
}

func (m *Mux) api(a *Authenticator, log *slog.Logger, routes []Route) {
	for _, rt := range routes {
		m.Handle(rt.Method+" "+rt.Pattern, apiRoute(a, log, rt))
	}
}

// Sessions finds the user of a session by the hash of its token: the store
// (store.Store.SessionUser) of a function whose config embeds Database.
type Sessions interface {
	SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (string, error)
}

// Authenticator is how API routes know their user: a bearer token, or, for
// a browser on TaskFlow's own origin, Better Auth's session cookie signed with
// the deployment's secret and found in Sessions.
type Authenticator struct {
	Tokens *auth.Verifier
	// Sessions, when set, makes session cookies count; nil: bearer tokens only.
	Sessions Sessions
	// Config gives the cookies' signing secret and TaskFlow's own origin.
	Config auth.Config
	Now    func() time.Time
}

// apiRoute serves one route behind authentication: the token's user, the
// path's user id (when the path names one) equal to it, the edge checks,
// then the handler within the request timeout.
func apiRoute(a *Authenticator, log *slog.Logger, route Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r, route.Pattern)
		user, err := "", error(nil)
		if !route.Public {
			user, err = a.authenticate(r)
		}
		if err != nil {
			if errors.Is(err, errs.ErrUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="taskflow"`)
			}
			WriteError(w, r, log, err)
			return
		}
		if pu := pathUser(r); pu != "" && pu != user {
			WriteError(w, r, log, errs.With(errs.ErrForbidden, "the path's user id is not the token's"))
			return
		}
		if err := checkEdge(r, &route); err != nil {
			WriteError(w, r, log, err)
			return
		}
		if route.Stream && r.Method == http.MethodHead {
			// HEAD of a stream: its headers, not a response that never ends.
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		if route.Stream {
			ctx, cancel = context.WithCancel(r.Context())
		}
		defer cancel()
		if err := route.Handle(w, r.WithContext(ctx), user); err != nil {
			WriteError(w, r, log, err)
		}
	})
}

// authenticate verifies the request's one Authorization header. Two of them
// are refused rather than the first believed: proxies and clients disagree
// on which one counts. Without one, a session cookie counts when the
// function accepts them: its signature, then its session (unexpired, not
// ended); a change made with it (an unsafe method) must come from TaskFlow's
// own origin, as a browser says in Origin, or it is a cross-site request
// forgery: 403. Bearer tokens need no Origin: no browser sends them unasked.
func (a *Authenticator) authenticate(r *http.Request) (string, error) {
	if len(r.Header.Values("Authorization")) > 1 {
		return "", errs.With(errs.ErrUnauthenticated, "more than one Authorization header")
	}
	header := r.Header.Get("Authorization")
	secret := a.Config.HMACSecret()
	if header != "" || a.Sessions == nil || secret == "" {
		return a.Tokens.Verify(header)
	}
	token, present, ok := auth.SessionToken(r, []byte(secret))
	if !present {
		return a.Tokens.Verify(header)
	}
	if !ok {
		return "", errs.With(errs.ErrUnauthenticated, "the session cookie is not valid")
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	user, err := a.Sessions.SessionUser(r.Context(), auth.HashSessionToken(token), now())
	if err != nil {
		return "", err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if origin := r.Header.Get("Origin"); origin != a.Config.Origin(r) {
			return "", errs.With(errs.ErrForbidden, "a change made with the session cookie must come from TaskFlow's own origin")
		}
	}
	return user, nil
}

// textHeaders are the request headers handlers read as text.
var textHeaders = []string{"Idempotency-Key", "If-Match", "Last-Event-ID"}

// checkEdge refuses, before any handler runs, what no handler could store or
// should silently ignore: a query string that is not valid URL encoding,
// query parameters a route does not take, and NUL or invalid UTF-8 in query
// parameters and text headers. Every problem is listed under the parameter's
// or header's name.
func checkEdge(r *http.Request, route *Route) error {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errs.Invalidf("the query string is not valid URL encoding")
	}
	fe := errs.FieldErrors{}
	for name, vals := range query {
		if msg := task.TextProblem(name); msg != "" {
			fe.Add(name, "the parameter's name "+msg)
		}
		for _, v := range vals {
			if msg := task.TextProblem(v); msg != "" {
				fe.Add(name, msg)
			}
		}
		if !route.ParsesQuery {
			fe.Add(name, "unknown query parameter")
		}
	}
	for _, h := range textHeaders {
		vals := r.Header.Values(h)
		for _, v := range vals {
			if msg := task.TextProblem(v); msg != "" {
				fe.Add(h, msg)
			}
		}
		// If-Match is a list (RFC 9110 §13.1.1); the others name one thing,
		// and a second copy would leave which one counts to chance.
		if len(vals) > 1 && h != "If-Match" {
			fe.Add(h, "must be sent once")
		}
	}
	return fe.Err()
}

// ReadJSON reads a JSON request body of at most MaxBody bytes. The body must
// be declared application/json (or a +json type): 415 otherwise, also when
// no Content-Type is sent.
func ReadJSON(r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, errs.ErrUnsupportedMedia
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if _, ok := err.(*http.MaxBytesError); ok {
			return nil, errs.ErrTooLarge
		}
		return nil, errs.Invalidf("could not read request body")
	}
	return body, nil
}

// ETag renders a version as an entity tag.
func ETag(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

// IfMatch parses an If-Match header into the version it requires (0: none).
func IfMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	h = strings.TrimPrefix(h, "W/")
	n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(h, `"v`), `"`), 10, 64)
	if err != nil || n < 1 {
		return 0, errs.ErrPrecondition
	}
	return n, nil
}
